/// Why an outbox row (or its relation) could not be turned into an event.
///
/// The relay never skips an event it cannot map: by `relay.invalid_event_policy` the row goes to
/// the dead-letter topic (and the slot moves past it only once that topic acked it) or the relay
/// halts on it.
public struct OutboxMappingError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case missingColumn, nullValue, unsupportedValue, invalidInteger, invalidTimestamp
            case invalidHeaders, invalidText, columnCountMismatch, unknownRelation, invalidTopic, payloadTooLarge
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The outbox relation lacks a column the mapping needs.
        public static let missingColumn = Code(.missingColumn)
        /// A required column is NULL.
        public static let nullValue = Code(.nullValue)
        /// A column came as binary or unchanged-TOAST instead of text.
        public static let unsupportedValue = Code(.unsupportedValue)
        public static let invalidInteger = Code(.invalidInteger)
        public static let invalidTimestamp = Code(.invalidTimestamp)
        /// `headers` is not a JSON object.
        public static let invalidHeaders = Code(.invalidHeaders)
        /// A text column is not valid UTF-8.
        public static let invalidText = Code(.invalidText)
        /// The tuple has a different number of columns than its Relation message announced.
        public static let columnCountMismatch = Code(.columnCountMismatch)
        /// An Insert refers to a relation id no Relation message described.
        public static let unknownRelation = Code(.unknownRelation)
        /// The routing template produced a topic name Pulsar would reject.
        public static let invalidTopic = Code(.invalidTopic)
        /// The payload is larger than `relay.max_event_bytes`.
        public static let payloadTooLarge = Code(.payloadTooLarge)

        public var description: String {
            switch base {
            case .missingColumn: "missingColumn"
            case .nullValue: "nullValue"
            case .unsupportedValue: "unsupportedValue"
            case .invalidInteger: "invalidInteger"
            case .invalidTimestamp: "invalidTimestamp"
            case .invalidHeaders: "invalidHeaders"
            case .invalidText: "invalidText"
            case .columnCountMismatch: "columnCountMismatch"
            case .unknownRelation: "unknownRelation"
            case .invalidTopic: "invalidTopic"
            case .payloadTooLarge: "payloadTooLarge"
            }
        }
    }

    public var code: Code
    /// The column (or topic) concerned, when there is one.
    public var column: String?
    /// The offending value, shortened, for the log line.
    public var detail: String?

    public init(code: Code, column: String? = nil, detail: String? = nil) {
        self.code = code
        self.column = column
        self.detail = detail.map { String($0.prefix(200)) }
    }

    public var description: String {
        var text = "OutboxMappingError(\(code)"
        if let column { text += ", column: \(column)" }
        if let detail { text += ", detail: \(detail)" }
        return text + ")"
    }
}
