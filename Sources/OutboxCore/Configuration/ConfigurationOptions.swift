import ArgumentParser

/// The command-line part of the configuration, shared by every daemon: `--config FILE` and
/// repeatable `--set key=value` overrides that win over the file and the environment.
public struct ConfigurationOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("config"), help: "YAML configuration file (default: $OUTBOX_CONFIG, else ./config.yaml if present).")
    public var file: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override one key, e.g. --set database.port=5433 (repeatable).", valueName: "key=value"))
    public var overrides: [String] = []

    public init() {}

    public func load(environment: [String: String]? = nil) throws(ConfigurationError) -> OutboxConfiguration {
        let loader = environment.map { ConfigurationLoader(environment: $0) } ?? ConfigurationLoader()
        return try loader.load(file: file, overrides: overrides)
    }

    /// Loads the configuration or prints the single offending line and exits with status 78 (EX_CONFIG).
    public func loadOrExit() -> OutboxConfiguration {
        do {
            return try load()
        } catch {
            FileHandleOutput.standardError(error.description)
            Foundation.exit(78)
        }
    }
}

import Foundation

enum FileHandleOutput {
    static func standardError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
