/// Failures of the relay loop itself.
public struct RelayError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable { case streamEnded, publishFailed, invalidConfiguration, fatalReplication, invalidEvent }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// The server ended the replication stream.
        public static let streamEnded = Code(.streamEnded)
        /// The broker failed a publish for good; confirmation stopped.
        public static let publishFailed = Code(.publishFailed)
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The slot is lost or vanished: restarting would silently skip events.
        public static let fatalReplication = Code(.fatalReplication)
        /// An outbox row cannot become a message and the policy is `halt`.
        public static let invalidEvent = Code(.invalidEvent)
        public var description: String {
            switch base {
            case .streamEnded: "streamEnded"
            case .publishFailed: "publishFailed"
            case .invalidConfiguration: "invalidConfiguration"
            case .fatalReplication: "fatalReplication"
            case .invalidEvent: "invalidEvent"
            }
        }
    }

    public var code: Code
    public var underlying: (any Error)?
    public var eventID: Int64?
    public var sequenceID: Int64?
    /// Commit LSN of the transaction concerned, when known.
    public var lsn: UInt64?
    /// Why the event is invalid (`invalidEvent`).
    public var reason: DeadLetterReason?

    public init(code: Code, underlying: (any Error)? = nil, eventID: Int64? = nil, sequenceID: Int64? = nil, lsn: UInt64? = nil, reason: DeadLetterReason? = nil) {
        self.code = code
        self.lsn = lsn
        self.reason = reason
        self.underlying = underlying
        self.eventID = eventID
        self.sequenceID = sequenceID
    }

    public var description: String {
        var text = "RelayError(\(code)"
        if let eventID { text += ", event_id: \(eventID)" }
        if let sequenceID { text += ", sequence_id: \(sequenceID)" }
        if let lsn { text += ", lsn: \(LSNFormat.string(lsn))" }
        if let reason { text += ", reason: \(reason)" }
        if let underlying { text += ", underlying: \(underlying)" }
        return text + ")"
    }
}
