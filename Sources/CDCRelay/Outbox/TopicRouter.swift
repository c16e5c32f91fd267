/// Chooses the Pulsar topic of an event: one fixed topic, or a template with `{aggregate_type}`
/// (e.g. `persistent://public/default/{aggregate_type}`).
public struct TopicRouter: Sendable, Hashable {
    public static let placeholder = "{aggregate_type}"

    private enum Rule: Sendable, Hashable {
        case fixed(String)
        case template(prefix: String, suffix: String)
    }

    private let rule: Rule

    /// Validates the configured topic (or template) once, at start.
    public init(topicName: String) throws(OutboxMappingError) {
        if let range = topicName.range(of: Self.placeholder) {
            let prefix = String(topicName[..<range.lowerBound])
            let suffix = String(topicName[range.upperBound...])
            guard !suffix.contains(Self.placeholder) else {
                throw OutboxMappingError(code: .invalidTopic, column: "pulsar.topic_name", detail: "placeholder appears twice: \(topicName)")
            }
            try Self.validate(topic: prefix + "x" + suffix, configured: topicName)
            rule = .template(prefix: prefix, suffix: suffix)
        } else {
            try Self.validate(topic: topicName, configured: topicName)
            rule = .fixed(topicName)
        }
    }

    public var isFixed: Bool {
        if case .fixed = rule { return true }
        return false
    }

    public func topic(for event: OutboxEvent) throws(OutboxMappingError) -> String {
        switch rule {
        case .fixed(let topic):
            return topic
        case .template(let prefix, let suffix):
            let value = event.aggregateType
            // Substituted text must stay inside one path segment and use Pulsar's name alphabet;
            // anything else would silently route to a different topic, so it is an error.
            guard !value.isEmpty, value.utf8.count <= 200, value.utf8.allSatisfy(Self.isTopicNameByte) else {
                throw OutboxMappingError(code: .invalidTopic, column: "aggregate_type", detail: value)
            }
            return prefix + value + suffix
        }
    }

    private static func isTopicNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
            true
        default:
            false
        }
    }

    /// Accepts `persistent://tenant/namespace/topic`, `non-persistent://…`, or a bare topic name.
    private static func validate(topic: String, configured: String) throws(OutboxMappingError) {
        func fail() -> OutboxMappingError {
            OutboxMappingError(code: .invalidTopic, column: "pulsar.topic_name", detail: configured)
        }
        var path = Substring(topic)
        if let schemeEnd = topic.range(of: "://") {
            let scheme = topic[..<schemeEnd.lowerBound]
            guard scheme == "persistent" || scheme == "non-persistent" else { throw fail() }
            path = topic[schemeEnd.upperBound...]
            let segments = path.split(separator: "/", omittingEmptySubsequences: false)
            guard segments.count == 3 else { throw fail() }
            for segment in segments {
                guard !segment.isEmpty, segment.utf8.allSatisfy({ isTopicNameByte($0) || $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: ":") })
                else { throw fail() }
            }
        } else {
            guard !path.isEmpty, path.utf8.allSatisfy(isTopicNameByte) else { throw fail() }
        }
    }
}
