import Foundation
/// Checks for values whose shape matters beyond their type. Each returns a reason, or nil if fine.
enum ConfigurationValidation {
    static func pulsarURI(_ value: String) -> String? {
        let schemes = ["pulsar://", "pulsar+ssl://"]
        guard let scheme = schemes.first(where: { value.hasPrefix($0) }) else {
            return "'\(value)' must start with pulsar:// or pulsar+ssl://"
        }
        let rest = value.dropFirst(scheme.count)
        let hostPort = rest.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        guard let colon = hostPort.lastIndex(of: ":"), !hostPort[..<colon].isEmpty,
              let port = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(port)
        else { return "'\(value)' must name a host and a port, like pulsar://127.0.0.1:6650" }
        return nil
    }

    /// A topic, or a topic template whose only placeholder is `{aggregate_type}`.
    static func topic(_ value: String) -> String? {
        let withoutPlaceholder = value.replacingOccurrences(of: "{aggregate_type}", with: "x")
        if withoutPlaceholder.contains("{") || withoutPlaceholder.contains("}") {
            return "'\(value)' may only contain the placeholder {aggregate_type}"
        }
        if withoutPlaceholder.contains(where: { $0.isWhitespace }) {
            return "'\(value)' must not contain spaces"
        }
        if value.contains("://"), !(value.hasPrefix("persistent://") || value.hasPrefix("non-persistent://")) {
            return "'\(value)' must start with persistent:// or non-persistent://"
        }
        return nil
    }

    /// A single topic (no placeholder), such as the dead-letter topic.
    static func fixedTopic(_ value: String) -> String? {
        if value.contains("{") || value.contains("}") {
            return "'\(value)' must be one topic, without placeholders"
        }
        return topic(value)
    }

    /// A Pulsar subscription name: no spaces or slashes (it becomes part of the DLQ topic's name).
    static func subscription(_ value: String) -> String? {
        let valid = value.count <= 200 && value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
        return valid ? nil : "'\(value)' must be 1–200 characters of letters, digits, '-', '_' and '.'"
    }

    /// Slot and publication names: Postgres identifiers we can use unquoted.
    static func identifier(_ value: String) -> String? {
        let valid = value.count <= 63
            && value.first.map { $0 == "_" || ($0.isASCII && $0.isLowercase) } == true
            && value.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLowercase || $0.isNumber)) }
        return valid ? nil : "'\(value)' must be 1–63 characters of a–z, 0–9 and _, starting with a letter or _"
    }

    /// `table` or `schema.table`, each part an identifier we can use unquoted.
    static func tableName(_ value: String) -> String? {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ identifier(String($0)) == nil }) else {
            return "'\(value)' must be a table or schema.table, each 1–63 characters of a–z, 0–9 and _"
        }
        return nil
    }
}
