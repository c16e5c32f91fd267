import Synchronization

/// What this process learnt about events above the slot's confirmed position, kept across
/// session restarts. Pure value type; `EventLedger` shares it.
///
/// - `acked`: events the broker acknowledged whose transaction was not confirmed yet. A session
///   that restarts replays them from the slot; they are settled without publishing again, so a
///   relay halted on (or restarting before) a row does not republish the rows before it.
/// - `rejected`: events the broker refused for good after they were handed over. A replay
///   dead-letters (or halts on) them in WAL order instead of failing on them again.
///
/// Keyed by WAL position, which names the same event in every session. Bounded: past `capacity`
/// acks are not remembered (only more duplicates after a restart, never a loss).
public struct EventMemory: Sendable, Hashable {
    public let capacity: Int
    private var acked: Set<EventPosition> = []
    private var rejected: [EventPosition: Rejection] = [:]

    /// The broker refused an event for good `attempts` times (the event, then its dead letters).
    public struct Rejection: Sendable, Hashable {
        public var reason: DeadLetterReason
        public var attempts: Int
    }

    public init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    public var ackedCount: Int { acked.count }

    public func wasAcked(_ position: EventPosition) -> Bool { acked.contains(position) }

    public func rejection(of position: EventPosition) -> Rejection? { rejected[position] }

    public mutating func acknowledged(_ position: EventPosition) {
        if acked.count < capacity { acked.insert(position) }
    }

    /// The first reason is kept: it is what made the event invalid.
    public mutating func reject(_ position: EventPosition, reason: DeadLetterReason) {
        if var rejection = rejected[position] {
            rejection.attempts += 1
            rejected[position] = rejection
        } else if rejected.count < capacity {
            rejected[position] = Rejection(reason: reason, attempts: 1)
        }
    }

    /// Everything in transactions that committed before `confirmedLSN` is confirmed: the slot
    /// will never send it again.
    public mutating func forget(before confirmedLSN: UInt64) {
        guard acked.contains(where: { $0.commitLSN < confirmedLSN }) || rejected.keys.contains(where: { $0.commitLSN < confirmedLSN }) else {
            return
        }
        acked = acked.filter { $0.commitLSN >= confirmedLSN }
        rejected = rejected.filter { $0.key.commitLSN >= confirmedLSN }
    }
}

/// The relay process's `EventMemory`, shared by its sessions.
public final class EventLedger: Sendable {
    private let memory: Mutex<EventMemory>

    public init(capacity: Int = 100_000) {
        memory = Mutex(EventMemory(capacity: capacity))
    }

    public func withMemory<Result: Sendable>(_ body: (inout EventMemory) -> Result) -> Result {
        memory.withLock { body(&$0) }
    }
}
