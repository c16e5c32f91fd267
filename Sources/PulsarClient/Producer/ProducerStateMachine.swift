import DequeModule
import NIOCore

/// The producer's protocol logic as a pure value: the pending queue of sent-but-unacknowledged
/// frames, sequence ids, receipts, send timeouts, reconnect decisions and backpressure accounting.
///
/// `Completion` is whatever the owner wants back when an entry resolves (callbacks in production,
/// plain values in tests). Time is passed in, never read.
struct ProducerStateMachine<Completion> {
    /// One SEND frame: a single message or a whole batch, kept serialized for resending unchanged.
    struct Entry {
        var sequenceID: UInt64
        var highestSequenceID: UInt64
        var frame: ByteBuffer
        var completions: Completions
        var enqueuedAt: NIODeadline

        var messageCount: Int { completions.count }
    }

    /// Avoids an array allocation for the common one-message entry.
    enum Completions {
        case one(Completion)
        case many([Completion])
        /// A chunk before the last of a chunked message: its receipt completes nothing and it
        /// holds no slot (the message's completion and slot sit on its last chunk).
        case earlierChunk

        var count: Int {
            switch self {
            case .earlierChunk: return 0
            case .one: return 1
            case .many(let list): return list.count
            }
        }

        var all: [Completion] {
            switch self {
            case .earlierChunk: return []
            case .one(let completion): return [completion]
            case .many(let list): return list
            }
        }
    }

    enum State {
        /// Waiting for PRODUCER_SUCCESS (first creation or after a disconnect). Sends are queued.
        case connecting
        case ready
        /// `close()` called: no new sends, pending ones still complete.
        case closing
        case closed(PulsarClientError)
    }

    enum ReserveResult: Equatable {
        case reserved
        /// The queue is full: wait until `resumeWaiters` hands over a slot.
        case mustWait
        case failed(PulsarClientError)
    }

    enum EnqueueAction {
        /// Ready: write this frame now (after any frame written before it).
        case write(ByteBuffer)
        /// Not connected: the frame waits in the queue and goes out on reconnect.
        case queued
        case fail(PulsarClientError)
    }

    /// Entries resolved by one event, plus the slots they freed for waiting senders.
    struct Resolution {
        var succeeded: [(Entry, Pulsar_Proto_MessageIdData)] = []
        var failed: [(Entry, PulsarClientError)] = []
        /// Number of suspended senders that now own a reserved slot and must be resumed.
        var resumeWaiters = 0
        /// Total entries ever resolved: flush waiters whose target is <= this are done.
        var resolvedTotal: UInt64 = 0

        var isEmpty: Bool { succeeded.isEmpty && failed.isEmpty && resumeWaiters == 0 }
    }

    enum ReceiptAction {
        case resolved(Resolution)
        /// Receipt for a sequence id already resolved (or duplicate): ignore it.
        case ignoreStale
        /// A receipt skipped the head of the queue: close the connection so everything is resent.
        case closeConnection(PulsarClientError)
    }

    enum DisconnectAction {
        case reconnect(after: TimeAmount)
        /// Closed for good; everything pending failed.
        case closed(Resolution)
        case none
    }

    enum SendErrorAction {
        case closeConnection(PulsarClientError)
        /// The topic will never accept this producer again: drop it.
        case closeProducer(Resolution)
    }

    enum CreationFailureAction {
        case retry(after: TimeAmount, failPending: Resolution)
        case closed(Resolution)
    }

    private(set) var state: State = .connecting
    private(set) var entries: Deque<Entry> = []
    let maxPendingMessages: Int
    let initialBackoff: TimeAmount
    let maxBackoff: TimeAmount

    /// Messages in the queue + in an open batch + slots reserved by senders about to enqueue.
    private(set) var occupiedSlots = 0
    private(set) var waitingSenders = 0
    private(set) var nextSequenceID: UInt64 = 0
    /// last_sequence_id from the first PRODUCER_SUCCESS; -1 before / when the broker has none.
    private(set) var lastSequenceIDFromBroker: Int64 = -1
    private(set) var hasBeenCreated = false
    private(set) var epoch: UInt64 = 0
    private(set) var reconnectAttempts = 0
    private(set) var enqueuedTotal: UInt64 = 0
    private(set) var resolvedTotal: UInt64 = 0

    init(maxPendingMessages: Int, initialBackoff: TimeAmount = .milliseconds(100), maxBackoff: TimeAmount = .seconds(30)) {
        self.maxPendingMessages = max(1, maxPendingMessages)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }

    var pendingCount: Int { entries.count }
    var isReady: Bool { if case .ready = state { return true } else { return false } }

    // MARK: sending

    /// Claims room for one message before it is built. Every `.reserved` must be followed by
    /// exactly one `enqueue` / `addedToBatch` or `releaseReservation`.
    mutating func reserveSlot() -> ReserveResult {
        switch state {
        case .closed(let error): return .failed(error)
        case .closing: return .failed(PulsarClientError(code: .producerClosed, message: "the producer is closing"))
        case .connecting, .ready:
            if occupiedSlots < maxPendingMessages && waitingSenders == 0 {
                occupiedSlots += 1
                return .reserved
            }
            waitingSenders += 1
            return .mustWait
        }
    }

    /// A waiting sender gave up (cancelled) before receiving a slot.
    mutating func cancelWaiting() {
        waitingSenders = max(0, waitingSenders - 1)
    }

    /// A reserved slot was not used (e.g. the message failed validation).
    mutating func releaseReservation() -> Resolution {
        occupiedSlots -= 1
        var resolution = Resolution(resolvedTotal: resolvedTotal)
        resolution.resumeWaiters = handOverSlots()
        return resolution
    }

    /// Picks the sequence id for the next entry: the explicit one, or the generator's next value.
    /// The generator never goes backwards, so mixing explicit and automatic ids stays monotonic.
    mutating func assignSequenceID(explicit: Int64?) -> UInt64 {
        if let explicit, explicit >= 0 {
            let id = UInt64(explicit)
            nextSequenceID = max(nextSequenceID, id &+ 1)
            return id
        }
        defer { nextSequenceID &+= 1 }
        return nextSequenceID
    }

    /// Appends a serialized SEND (its messages' slots were reserved earlier).
    mutating func enqueue(_ entry: Entry) -> EnqueueAction {
        switch state {
        case .closed(let error):
            occupiedSlots -= entry.messageCount
            return .fail(error)
        case .connecting, .ready, .closing:
            entries.append(entry)
            enqueuedTotal += 1
            if case .ready = state { return .write(entry.frame) }
            return .queued
        }
    }

    // MARK: broker events

    mutating func receiptReceived(sequenceID: UInt64, messageID: Pulsar_Proto_MessageIdData) -> ReceiptAction {
        guard let head = entries.first else { return .ignoreStale }
        if sequenceID < head.sequenceID { return .ignoreStale }
        if sequenceID > head.sequenceID {
            return .closeConnection(PulsarClientError(code: .protocolError,
                message: "receipt for sequence id \(sequenceID) while \(head.sequenceID) is the oldest pending: resending"))
        }
        let entry = entries.removeFirst()
        var resolution = resolve(count: 1)
        resolution.succeeded.append((entry, messageID))
        occupiedSlots -= entry.messageCount
        resolution.resumeWaiters = handOverSlots()
        return .resolved(resolution)
    }

    mutating func sendErrorReceived(sequenceID: UInt64, error: Pulsar_Proto_ServerError, message: String) -> SendErrorAction {
        let clientError = PulsarClientError.server(error, message: "SEND_ERROR for sequence id \(sequenceID): \(message)")
        switch error {
        case .notAllowedError, .topicTerminatedError:
            return .closeProducer(closeForGood(clientError))
        default:
            return .closeConnection(clientError)
        }
    }

    /// Fails entries from the head whose send timeout expired (entries behind them stay: a later
    /// one cannot be older than the head).
    mutating func checkTimeouts(now: NIODeadline, sendTimeout: TimeAmount) -> Resolution {
        var resolution = Resolution(resolvedTotal: resolvedTotal)
        guard sendTimeout.nanoseconds > 0 else { return resolution }
        while let head = entries.first, head.enqueuedAt + sendTimeout <= now {
            let entry = entries.removeFirst()
            occupiedSlots -= entry.messageCount
            resolvedTotal += 1
            resolution.failed.append((entry, .timeout("no receipt for sequence id \(entry.sequenceID) within the send timeout")))
        }
        resolution.resolvedTotal = resolvedTotal
        resolution.resumeWaiters = handOverSlots()
        return resolution
    }

    // MARK: connection lifecycle

    /// PRODUCER_SUCCESS: go ready and return every pending frame, oldest first, to be written
    /// unchanged before anything new.
    mutating func producerCreated(lastSequenceID: Int64) -> [ByteBuffer] {
        if !hasBeenCreated {
            hasBeenCreated = true
            lastSequenceIDFromBroker = lastSequenceID
            if lastSequenceID >= 0 {
                nextSequenceID = max(nextSequenceID, UInt64(lastSequenceID) + 1)
            }
        }
        reconnectAttempts = 0
        switch state {
        case .closed: return []
        case .closing: break  // keep draining
        case .connecting, .ready: state = .ready
        }
        return entries.map(\.frame)
    }

    /// Epoch for the next PRODUCER command: 0 the first time, +1 for every re-creation.
    mutating func nextEpoch() -> UInt64 {
        defer { epoch += 1 }
        return epoch
    }

    /// The connection dropped or the broker sent CLOSE_PRODUCER.
    mutating func disconnected(jitter: Double) -> DisconnectAction {
        switch state {
        case .closed:
            return .none
        case .closing where entries.isEmpty:
            return .closed(closeForGood(PulsarClientError(code: .producerClosed, message: "producer closed")))
        case .connecting, .ready, .closing:
            if case .ready = state { state = .connecting }
            return .reconnect(after: nextBackoff(jitter: jitter))
        }
    }

    /// PRODUCER answered with ERROR (or failed to reach a broker) during a re-creation.
    mutating func creationFailed(_ error: PulsarClientError, jitter: Double) -> CreationFailureAction {
        if case .closed = state { return .closed(Resolution(resolvedTotal: resolvedTotal)) }
        switch error.serverError {
        case .topicNotFound?, .topicTerminatedError?, .producerFenced?, .notAllowedError?:
            return .closed(closeForGood(error))
        case .producerBlockedQuotaExceededException?:
            // The backlog quota rejects producers: fail what waits, keep trying to come back.
            return .retry(after: nextBackoff(jitter: jitter), failPending: failAll(error))
        default:
            if error.code == .producerFenced || error.code == .topicTerminated || error.code == .topicNotFound {
                return .closed(closeForGood(error))
            }
            return .retry(after: nextBackoff(jitter: jitter), failPending: Resolution(resolvedTotal: resolvedTotal))
        }
    }

    /// Stop accepting sends. Returns true when nothing is pending (CLOSE_PRODUCER can go now).
    mutating func closeRequested() -> Bool {
        switch state {
        case .closed: return true
        case .closing, .connecting, .ready:
            state = .closing
            return entries.isEmpty
        }
    }

    /// Final state: fail everything pending, and tell waiting senders to give up.
    mutating func closeForGood(_ error: PulsarClientError) -> Resolution {
        if case .closed = state {} else { state = .closed(error) }
        return failAll(error)
    }

    // MARK: internals

    private mutating func failAll(_ error: PulsarClientError) -> Resolution {
        var resolution = Resolution()
        while let entry = entries.popFirst() {
            occupiedSlots -= entry.messageCount
            resolvedTotal += 1
            resolution.failed.append((entry, error))
        }
        resolution.resolvedTotal = resolvedTotal
        if case .closed = state {
            // Waiters are woken holding a slot; their enqueue then fails and releases it.
            resolution.resumeWaiters = waitingSenders
            occupiedSlots += waitingSenders
            waitingSenders = 0
        } else {
            resolution.resumeWaiters = handOverSlots()
        }
        return resolution
    }

    private mutating func resolve(count: Int) -> Resolution {
        resolvedTotal += UInt64(count)
        return Resolution(resolvedTotal: resolvedTotal)
    }

    /// Gives freed slots to waiting senders, oldest first. Waits until a tenth of the queue is
    /// free, so a saturated sender wakes up once per burst rather than once per receipt.
    private mutating func handOverSlots() -> Int {
        let free = maxPendingMessages - occupiedSlots
        guard waitingSenders > 0, free >= max(1, maxPendingMessages / 10) else { return 0 }
        let handed = max(0, min(free, waitingSenders))
        waitingSenders -= handed
        occupiedSlots += handed
        return handed
    }

    private mutating func nextBackoff(jitter: Double) -> TimeAmount {
        let exponent = min(reconnectAttempts, 30)
        reconnectAttempts += 1
        let base = min(Double(initialBackoff.nanoseconds) * pow2(exponent), Double(maxBackoff.nanoseconds))
        // ±10 % so that many producers do not reconnect in lockstep, still capped.
        let withJitter = min(base * (0.9 + 0.2 * min(max(jitter, 0), 1)), Double(maxBackoff.nanoseconds))
        return .nanoseconds(Int64(withJitter))
    }

    private func pow2(_ n: Int) -> Double {
        var value = 1.0
        for _ in 0..<n { value *= 2 }
        return value
    }
}

extension ProducerStateMachine: Sendable where Completion: Sendable {}
extension ProducerStateMachine.Entry: Sendable where Completion: Sendable {}
extension ProducerStateMachine.Completions: Sendable where Completion: Sendable {}
extension ProducerStateMachine.State: Sendable {}
