import DequeModule
import OutboxCore
import PulsarClient

/// The decisions of one inbox lane (the messages of the keys hashed to it, in arrival order),
/// without I/O: the driver feeds it events and runs the actions it returns.
///
/// At most one thing runs per lane at a time: a transaction, a wait or a dead-letter publish.
/// That is what keeps one key's messages in order. Messages arriving meanwhile queue and go
/// together into the next transaction (group commit). Acknowledgements are only ever returned
/// after `transactionCommitted` / `deadLetterPublished`: nothing is acked before it is durable.
public struct InboxStateMachine: Sendable {
    public struct Settings: Sendable, Hashable {
        /// Most messages one transaction takes.
        public var maxBatch: Int
        /// Handler failures after the first before a message is dead-lettered.
        public var maxRedeliveries: Int
        /// Delay between attempts (handler failures, database or broker trouble).
        public var backoff: Backoff

        public init(maxBatch: Int = 500, maxRedeliveries: Int = 5, backoff: Backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(10))) {
            self.maxBatch = max(1, maxBatch)
            self.maxRedeliveries = max(0, maxRedeliveries)
            self.backoff = backoff
        }
    }

    public enum Action: Sendable, Hashable {
        /// BEGIN; insert the batch's event ids into the inbox (ON CONFLICT DO NOTHING); run the
        /// handler for the new ones in the same transaction; COMMIT. Report the outcome.
        case runTransaction(InboxBatch)
        /// Acknowledge these messages on the broker (their effect is committed).
        case acknowledge([PulsarMessageID])
        /// Publish the message to the dead-letter topic; report `deadLetterPublished` on receipt.
        case deadLetter(InboxEntry, InboxDeadLetterReason)
        /// Sleep, then report `retryDue` (the message is redelivered in-process).
        case wait(Duration)
    }

    /// Why a transaction failed.
    public enum Failure: Error, Sendable, Hashable {
        /// The handler threw: counts towards `max_redeliveries`.
        case handler(String)
        /// The database (or the inbox's own statements) failed: retried without counting.
        case infrastructure(String)
    }

    enum Phase: Sendable, Hashable {
        case idle
        case running(InboxBatch)
        case waiting(Pending)
        case deadLettering(InboxEntry, InboxDeadLetterReason)
    }

    enum Pending: Sendable, Hashable {
        case transaction(InboxBatch)
        case deadLetter(InboxEntry, InboxDeadLetterReason)
    }

    public let settings: Settings
    private var backoff: Backoff
    private(set) var phase: Phase = .idle
    private var queue: Deque<InboxEntry> = []
    /// Handler failures per message id, for the current lane head only (cleared once it is done).
    private var failures: [PulsarMessageID: Int] = [:]
    /// After a failed group, this many entries at the queue's head run one by one, so the
    /// failing message is found and the others are not charged for it.
    private var isolating = 0

    public init(settings: Settings = .init()) {
        self.settings = settings
        self.backoff = settings.backoff
    }

    /// Messages waiting or in progress on this lane.
    public var pendingCount: Int {
        switch phase {
        case .idle: queue.count
        case .running(let batch), .waiting(.transaction(let batch)): queue.count + batch.count
        case .waiting(.deadLetter), .deadLettering: queue.count + 1
        }
    }

    public var isIdle: Bool { phase == .idle && queue.isEmpty }

    /// How many handler failures the message had so far.
    public func failureCount(of id: PulsarMessageID) -> Int { failures[id] ?? 0 }

    // MARK: events

    public mutating func received(_ entry: InboxEntry) -> [Action] {
        queue.append(entry)
        guard phase == .idle else { return [] }
        return startNext()
    }

    public mutating func transactionCommitted() -> [Action] {
        guard case .running(let batch) = phase else { return [] }
        for id in batch.ids { failures[id] = nil }
        backoff.reset()
        if isolating > 0 { isolating -= batch.count }
        phase = .idle
        return [.acknowledge(batch.ids)] + startNext()
    }

    public mutating func transactionFailed(_ failure: Failure) -> [Action] {
        guard case .running(let batch) = phase else { return [] }
        switch failure {
        case .infrastructure:
            phase = .waiting(.transaction(batch))
            return [.wait(backoff.nextDelay())]
        case .handler(let message):
            if batch.count > 1 {
                // Rolled back as a whole; replay the same entries singly, in order.
                for entry in batch.entries.reversed() { queue.prepend(entry) }
                isolating = batch.count
                phase = .idle
                return startNext()
            }
            guard let entry = batch.entries.first else { phase = .idle; return startNext() }
            let count = (failures[entry.id] ?? 0) + 1
            failures[entry.id] = count
            if count > settings.maxRedeliveries {
                let reason = InboxDeadLetterReason.handlerFailed(attempts: count, lastError: message)
                phase = .deadLettering(entry, reason)
                return [.deadLetter(entry, reason)]
            }
            phase = .waiting(.transaction(batch))
            return [.wait(backoff.nextDelay())]
        }
    }

    public mutating func retryDue() -> [Action] {
        guard case .waiting(let pending) = phase else { return [] }
        switch pending {
        case .transaction(let batch):
            phase = .running(batch)
            return [.runTransaction(batch)]
        case .deadLetter(let entry, let reason):
            phase = .deadLettering(entry, reason)
            return [.deadLetter(entry, reason)]
        }
    }

    public mutating func deadLetterPublished() -> [Action] {
        guard case .deadLettering(let entry, _) = phase else { return [] }
        failures[entry.id] = nil
        backoff.reset()
        if isolating > 0 { isolating -= 1 }
        phase = .idle
        return [.acknowledge([entry.id])] + startNext()
    }

    public mutating func deadLetterFailed() -> [Action] {
        guard case .deadLettering(let entry, let reason) = phase else { return [] }
        phase = .waiting(.deadLetter(entry, reason))
        return [.wait(backoff.nextDelay())]
    }

    // MARK: internals

    private mutating func startNext() -> [Action] {
        guard phase == .idle, let head = queue.first else { return [] }
        if head.eventID == nil {
            queue.removeFirst()
            phase = .deadLettering(head, .missingEventID)
            return [.deadLetter(head, .missingEventID)]
        }
        let limit = isolating > 0 ? 1 : settings.maxBatch
        var entries: [InboxEntry] = []
        // A message without an event id ends the group: it is dead-lettered on its own, in order.
        while entries.count < limit, let next = queue.first, next.eventID != nil {
            entries.append(queue.removeFirst())
        }
        let batch = InboxBatch(entries)
        phase = .running(batch)
        return [.runTransaction(batch)]
    }
}
