import DequeModule

/// Decides which LSN the relay may confirm to Postgres. Pure value type.
///
/// Transactions are kept in commit order (the order pgoutput sends them). The flush LSN is the
/// `end_lsn` of the newest transaction whose events — and those of every earlier transaction —
/// are acked by the broker. A transaction is only confirmable once its Commit arrived, so a huge
/// transaction whose rows are already published is still held until its end.
///
/// With nothing open and nothing in flight, a keepalive's `walEnd` is confirmed too: the server has
/// sent us everything before it, and none of it was ours, so a quiet outbox does not pin WAL.
public struct LSNTracker: Sendable, Hashable {
    public struct TransactionToken: Sendable, Hashable {
        fileprivate let index: UInt64
    }

    private struct Entry: Sendable, Hashable {
        let commitLSN: UInt64
        /// Commit time (Unix microseconds; 0 when unknown), recorded with the acked progress.
        let commitTime: Int64
        var endLSN: UInt64?
        var outstanding: Int
        /// A publish of this transaction failed: it, and everything after it, stays unconfirmed.
        var failed = false
    }

    private var transactions: Deque<Entry> = []
    /// Index (token) of `transactions.first`.
    private var firstIndex: UInt64 = 0
    private var openTransaction: TransactionToken?

    /// The LSN reported as flushed; never moves backwards.
    public private(set) var confirmedLSN: UInt64
    /// Commit time (Unix microseconds) of the newest confirmed transaction, when it was known.
    public private(set) var confirmedCommitTime: Int64?
    /// Newest `walEnd` seen in a keepalive (for the lag figure).
    public private(set) var latestWALEnd: UInt64
    /// Events handed to the broker and not acked yet.
    public private(set) var inFlight = 0
    /// After a failed publish nothing from that transaction on is confirmed: the session must
    /// restart from the slot. Transactions before it are still confirmed as their acks arrive,
    /// so the final status before a restart covers the whole acknowledged prefix.
    public private(set) var hasFailed = false

    public init(confirmedLSN: UInt64 = 0) {
        self.confirmedLSN = confirmedLSN
        self.latestWALEnd = confirmedLSN
    }

    /// Transactions seen (begun) but not yet confirmed.
    public var pendingTransactions: Int { transactions.count }

    public var isIdle: Bool { transactions.isEmpty && openTransaction == nil }

    public mutating func begin(commitLSN: UInt64, commitTime: Int64 = 0) throws(LSNTrackerError) -> TransactionToken {
        guard openTransaction == nil else { throw LSNTrackerError(code: .beginInsideTransaction, lsn: commitLSN) }
        let token = TransactionToken(index: firstIndex + UInt64(transactions.count))
        transactions.append(Entry(commitLSN: commitLSN, commitTime: commitTime, endLSN: nil, outstanding: 0))
        openTransaction = token
        return token
    }

    /// One event of the open transaction was handed to the publisher.
    public mutating func eventSent(in token: TransactionToken) throws(LSNTrackerError) {
        guard token == openTransaction, let position = position(of: token) else {
            throw LSNTrackerError(code: .unknownTransaction)
        }
        transactions[position].outstanding += 1
        inFlight += 1
    }

    /// Returns true when the confirmed LSN moved.
    @discardableResult
    public mutating func eventAcked(in token: TransactionToken) throws(LSNTrackerError) -> Bool {
        guard let position = position(of: token), transactions[position].outstanding > 0 else {
            throw LSNTrackerError(code: .unknownTransaction)
        }
        transactions[position].outstanding -= 1
        inFlight -= 1
        return advance()
    }

    /// A publish failed for good: keep this transaction and everything after it unconfirmed.
    public mutating func eventFailed(in token: TransactionToken) {
        if let position = position(of: token) {
            if transactions[position].outstanding > 0 {
                transactions[position].outstanding -= 1
                inFlight -= 1
            }
            transactions[position].failed = true
        }
        hasFailed = true
        _ = advance()
    }

    /// Returns true when the confirmed LSN moved.
    @discardableResult
    public mutating func commit(commitLSN: UInt64, endLSN: UInt64) throws(LSNTrackerError) -> Bool {
        guard let token = openTransaction, let position = position(of: token) else {
            throw LSNTrackerError(code: .commitWithoutBegin, lsn: endLSN)
        }
        guard transactions[position].commitLSN == commitLSN else {
            throw LSNTrackerError(code: .commitMismatch, lsn: commitLSN)
        }
        transactions[position].endLSN = endLSN
        openTransaction = nil
        return advance()
    }

    /// Returns true when the confirmed LSN moved (idle confirmation).
    @discardableResult
    public mutating func keepalive(walEnd: UInt64) -> Bool {
        latestWALEnd = max(latestWALEnd, walEnd)
        guard !hasFailed, isIdle, walEnd > confirmedLSN else { return false }
        confirmedLSN = walEnd
        return true
    }

    /// Bytes of WAL the server has sent beyond what is confirmed.
    public var lagBytes: UInt64 {
        latestWALEnd > confirmedLSN ? latestWALEnd - confirmedLSN : 0
    }

    private func position(of token: TransactionToken) -> Int? {
        guard token.index >= firstIndex else { return nil }
        let offset = token.index - firstIndex
        return offset < UInt64(transactions.count) ? Int(offset) : nil
    }

    private mutating func advance() -> Bool {
        var moved = false
        while let first = transactions.first, !first.failed, let end = first.endLSN, first.outstanding == 0 {
            transactions.removeFirst()
            firstIndex += 1
            if end > confirmedLSN {
                confirmedLSN = end
                moved = true
            }
            if first.commitTime > 0 { confirmedCommitTime = first.commitTime }
        }
        latestWALEnd = max(latestWALEnd, confirmedLSN)
        return moved
    }
}

/// A replication stream that broke the Begin/Commit pairing, or an ack nobody expected.
public struct LSNTrackerError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable { case beginInsideTransaction, commitWithoutBegin, commitMismatch, unknownTransaction }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        public static let beginInsideTransaction = Code(.beginInsideTransaction)
        public static let commitWithoutBegin = Code(.commitWithoutBegin)
        /// Commit's commit_lsn differs from Begin's final_lsn.
        public static let commitMismatch = Code(.commitMismatch)
        public static let unknownTransaction = Code(.unknownTransaction)
        public var description: String {
            switch base {
            case .beginInsideTransaction: "beginInsideTransaction"
            case .commitWithoutBegin: "commitWithoutBegin"
            case .commitMismatch: "commitMismatch"
            case .unknownTransaction: "unknownTransaction"
            }
        }
    }

    public var code: Code
    public var lsn: UInt64?

    public init(code: Code, lsn: UInt64? = nil) {
        self.code = code
        self.lsn = lsn
    }

    public var description: String {
        "LSNTrackerError(\(code)\(lsn.map { ", lsn: \(LSNFormat.string($0))" } ?? ""))"
    }
}

/// `%X/%X` rendering for logs.
public enum LSNFormat {
    public static func string(_ lsn: UInt64) -> String {
        String(lsn >> 32, radix: 16, uppercase: true) + "/" + String(lsn & 0xFFFF_FFFF, radix: 16, uppercase: true)
    }
}
