/// A failure of the replication connection, the stream or the slot bootstrap.
public struct ReplicationError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case connectionFailed, connectionLost, slotBusy, slotLost, slotVanished, slotReplaced, slotMismatch
            case queryFailed, copyEnded, protocolViolation, timeout, sessionClosed, invalidState
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Could not connect or authenticate.
        public static let connectionFailed = Code(.connectionFailed)
        /// The connection broke after it was established (server stopped, network, libpq error).
        public static let connectionLost = Code(.connectionLost)
        /// Another walsender reads the slot (SQLSTATE 55006): wait and retry, e.g. as a hot standby.
        public static let slotBusy = Code(.slotBusy)
        /// The server invalidated the slot (`wal_status = 'lost'`): required WAL is gone.
        public static let slotLost = Code(.slotLost)
        /// The slot we created and recorded is missing: events may have been lost.
        public static let slotVanished = Code(.slotVanished)
        /// The slot exists but is not the one we recorded (other cluster or recreated).
        public static let slotReplaced = Code(.slotReplaced)
        /// The slot exists but has the wrong kind, plugin or database.
        public static let slotMismatch = Code(.slotMismatch)
        /// The server rejected a command.
        public static let queryFailed = Code(.queryFailed)
        /// The server ended the replication stream (CopyDone).
        public static let copyEnded = Code(.copyEnded)
        /// The server sent bytes that do not follow the replication protocol.
        public static let protocolViolation = Code(.protocolViolation)
        /// An operation did not finish before its deadline.
        public static let timeout = Code(.timeout)
        /// The session was closed.
        public static let sessionClosed = Code(.sessionClosed)
        /// The call does not fit the session's state (e.g. a status update before streaming).
        public static let invalidState = Code(.invalidState)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The SQLSTATE the server reported, when there is one.
    public var sqlState: String?
    public var message: String

    public init(code: Code, sqlState: String? = nil, message: String) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
    }

    public var description: String {
        if let sqlState {
            return "ReplicationError(\(code), SQLSTATE \(sqlState)): \(message)"
        }
        return "ReplicationError(\(code)): \(message)"
    }
}
