import Yams

/// Reads a YAML configuration file into dotted key paths, with the line each value is on.
///
/// The YAML itself is parsed by Yams (libyaml), so quoting, flow mappings, anchors and block
/// scalars mean what YAML says. What this adds is the shape our configuration has: the document is
/// one mapping of mappings whose leaves are scalars. A list, a non-string key or a document that is
/// not a mapping is rejected with the line it is on, rather than guessed at: a configuration file
/// that is not understood must not start a daemon.
public struct ConfigurationFileParser {
    public init() {}

    public func parse(_ text: String, source: String) throws(ConfigurationError) -> [(path: String, value: String, line: Int)] {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw malformed(source, line: Self.line(of: error), Self.problem(of: error))
        } catch {
            throw malformed(source, line: nil, "not valid YAML")
        }
        // An empty file (or one with only comments) sets nothing.
        guard let root else { return [] }
        guard case .mapping(let mapping) = root else {
            throw malformed(source, line: root.mark?.line, "expected 'key: value' lines")
        }
        var result: [(path: String, value: String, line: Int)] = []
        try flatten(mapping, prefix: [], source: source, into: &result)
        return result
    }

    private func flatten(
        _ mapping: Node.Mapping, prefix: [String], source: String,
        into result: inout [(path: String, value: String, line: Int)]
    ) throws(ConfigurationError) {
        for (keyNode, value) in mapping {
            guard case .scalar(let keyScalar) = keyNode, !keyScalar.string.isEmpty else {
                throw malformed(source, line: keyNode.mark?.line, "keys must be plain names")
            }
            let path = prefix + [keyScalar.string]
            switch value {
            case .mapping(let nested):
                try flatten(nested, prefix: path, source: source, into: &result)
            case .scalar(let scalar):
                // `key: ~` and `key: null` mean "no value", as an empty string does in the environment.
                let isNull = scalar.style == .plain && ["~", "null", "Null", "NULL", ""].contains(scalar.string)
                result.append((path.joined(separator: "."), isNull ? "" : scalar.string, value.mark?.line ?? 0))
            case .alias(let alias):
                throw malformed(source, line: alias.mark?.line, "aliases are not used in this configuration")
            case .sequence(let sequence):
                throw malformed(source, line: sequence.mark?.line, "lists are not used in this configuration")
            }
        }
    }

    private func malformed(_ source: String, line: Int?, _ reason: String) -> ConfigurationError {
        ConfigurationError(code: .malformedFile, source: line.map { "\(source):\($0)" } ?? source, reason: reason)
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return mark.line
        case .duplicatedKeysInMapping(_, let context):
            return context.mark.line
        default:
            return nil
        }
    }

    private static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _),
             .composer(let context, let problem, _, _):
            return context.map { "\(problem) \($0.text)" } ?? problem
        case .duplicatedKeysInMapping(let duplicates, _):
            return "duplicate key \(duplicates.joined(separator: ", "))"
        default:
            return "not valid YAML"
        }
    }
}
