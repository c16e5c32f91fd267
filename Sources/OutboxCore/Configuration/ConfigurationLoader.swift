import Foundation

/// Builds an `OutboxConfiguration` from defaults ← file ← environment ← flags, validating each value.
public struct ConfigurationLoader: Sendable {
    /// Used when no file is named: the seed's default location, read only if it exists.
    public static let defaultFile = "config.yaml"
    /// Names a configuration file when `--config` is not given.
    public static let fileEnvironmentVariable = "OUTBOX_CONFIG"

    public var environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// - Parameters:
    ///   - file: a YAML file to read; nil means `OUTBOX_CONFIG` or, if present, `./config.yaml`.
    ///   - overrides: `key=value` pairs from the command line, applied last.
    public func load(file: String?, overrides: [String]) throws(ConfigurationError) -> OutboxConfiguration {
        var config = OutboxConfiguration()

        if let path = resolveFile(file) {
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw ConfigurationError(code: .unreadableFile, source: path, reason: "cannot read the file (\(error.localizedDescription))")
            }
            for entry in try ConfigurationFileParser().parse(text, source: path) {
                try apply(entry.path, entry.value, source: "\(path):\(entry.line)", to: &config)
            }
        }

        for key in ConfigurationKey.all {
            // The canonical name wins over a compatibility alias when both are set.
            for name in key.environmentNames {
                guard let value = environment[name] else { continue }
                try apply(key.path, value, source: "environment \(name)", to: &config)
                break
            }
        }

        for flag in overrides {
            guard let equals = flag.firstIndex(of: "=") else {
                throw ConfigurationError(code: .malformedFlag, source: "--set \(flag)", reason: "expected key=value, like database.port=5432")
            }
            let path = flag[..<equals].trimmingCharacters(in: .whitespaces)
            try apply(path, String(flag[flag.index(after: equals)...]), source: "--set", to: &config)
        }
        return config
    }

    private func resolveFile(_ file: String?) -> String? {
        if let file { return file }
        if let named = environment[Self.fileEnvironmentVariable], !named.isEmpty { return named }
        return FileManager.default.fileExists(atPath: Self.defaultFile) ? Self.defaultFile : nil
    }

    private func apply(_ rawPath: String, _ value: String, source: String, to config: inout OutboxConfiguration) throws(ConfigurationError) {
        let path = ConfigurationKey.pathAliases[rawPath] ?? rawPath
        guard let key = ConfigurationKey.named(path) else {
            throw ConfigurationError(code: .unknownKey, key: rawPath, source: source, reason: "unknown key (known keys: \(ConfigurationKey.all.map(\.path).joined(separator: ", ")))")
        }
        do {
            try key.apply(&config, value)
        } catch {
            var located = error
            located.source = source
            throw located
        }
    }
}
