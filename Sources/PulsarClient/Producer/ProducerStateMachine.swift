import DequeModule
import NIOCore

/// The producer's protocol logic as a pure value: the open batch, the pending queue of SENDs and
/// the order they are written in, sequence ids, receipts, send timeouts, backpressure with its
/// waiting (and cancellable) senders, flush waiters and the reconnect decisions.
///
/// `Completion` is what the owner wants back when a message resolves and `Waiter` what it parks
/// (callbacks and continuations in production, plain values in tests). Time is passed in, never
/// read. Frames are built by the owner outside its lock (`FrameJob`) and handed back; the machine
/// writes them strictly in queue order.
struct ProducerStateMachine<Completion, Waiter> {
    private(set) var state: State = .connecting
    private(set) var entries: Deque<Entry> = []
    let maxPendingMessages: Int
    let initialBackoff: TimeAmount
    let maxBackoff: TimeAmount
    let chunking: Bool
    private(set) var batch: ProducerBatch<Completion>?
    private var senders = ProducerSlotQueue<Waiter>()
    private var flushWaiters: [(target: UInt64, waiter: Waiter)] = []
    /// The configured name, or the broker's once it gave one.
    private(set) var producerName: String?
    private(set) var maxMessageSize: Int

    /// Messages in the queue + in the open batch + slots reserved by senders about to send.
    private(set) var occupiedSlots = 0
    private(set) var nextSequenceID: UInt64 = 0
    /// last_sequence_id from the first PRODUCER_SUCCESS; -1 before / when the broker has none.
    private(set) var lastSequenceIDFromBroker: Int64 = -1
    private(set) var hasBeenCreated = false
    private(set) var epoch: UInt64 = 0
    private(set) var reconnectAttempts = 0
    private(set) var reconnectScheduled = false
    private(set) var enqueuedTotal: UInt64 = 0
    private(set) var resolvedTotal: UInt64 = 0
    private var nextEntryID: UInt64 = 0
    /// Registered on a connection that answered PRODUCER_SUCCESS.
    private(set) var isConnected = false
    /// `entries[0..<sentCount]` were handed to the current connection.
    private(set) var sentCount = 0
    /// Frames for the next drain, in queue order.
    private var outbox: [ByteBuffer] = []
    private(set) var drainScheduled = false

    init(
        maxPendingMessages: Int, batching: BatchingOptions? = nil, chunking: Bool = false, producerName: String? = nil,
        maxMessageSize: Int = PulsarFrameConstants.defaultMaxMessageSize,
        initialBackoff: TimeAmount = .milliseconds(100), maxBackoff: TimeAmount = .seconds(30)
    ) {
        self.maxPendingMessages = max(1, maxPendingMessages)
        self.batch = batching.map { ProducerBatch(limits: $0) }
        self.chunking = chunking
        self.producerName = producerName
        self.maxMessageSize = maxMessageSize
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }

    var pendingCount: Int { entries.count }
    var waitingSenders: Int { senders.count }
    var isReady: Bool { if case .ready = state { return true } else { return false } }

    // MARK: backpressure

    /// Claims room for one message. Every `.reserved` (and every granted wait) must be followed by
    /// exactly one `send` or `releaseReservation`.
    mutating func reserveSlot() -> ReserveResult {
        switch state {
        case .closed(let error): return .failed(error)
        case .closing: return .failed(PulsarClientError(code: .producerClosed, message: "the producer is closing"))
        case .connecting, .ready:
            if occupiedSlots < maxPendingMessages && senders.count == 0 {
                occupiedSlots += 1
                return .reserved
            }
            return .mustWait(senders.register())
        }
    }

    /// Second step of a `.mustWait`: the sender's continuation.
    mutating func parkSender(_ id: ProducerSlotQueue<Waiter>.WaiterID, _ waiter: Waiter) -> ParkAction {
        switch senders.park(id, waiter) {
        case .parked: return .parked
        case .resumeNow(granted: true): return .resume(.success(()))
        case .resumeNow(granted: false): return .resume(.failure(Self.cancelled))
        }
    }

    /// A waiting sender's task was cancelled: returns its continuation to resume with
    /// `cancelled` when it was parked. A sender already holding a slot goes on and sends.
    mutating func cancelWaiting(_ id: ProducerSlotQueue<Waiter>.WaiterID) -> Waiter? {
        senders.cancel(id)
    }

    static var cancelled: PulsarClientError {
        PulsarClientError(code: .cancelled, message: "cancelled while waiting for room in the pending queue")
    }

    /// A reserved slot was not used (e.g. the message failed validation).
    mutating func releaseReservation() -> Resolution {
        occupiedSlots -= 1
        var resolution = Resolution()
        finish(&resolution)
        return resolution
    }

    /// Picks the sequence id for the next message: the explicit one, or the generator's next
    /// value. The generator never goes backwards, so mixing explicit and automatic ids stays monotonic.
    mutating func assignSequenceID(explicit: Int64?) -> UInt64 {
        if let explicit, explicit >= 0 {
            let id = UInt64(explicit)
            nextSequenceID = max(nextSequenceID, id &+ 1)
            return id
        }
        defer { nextSequenceID &+= 1 }
        return nextSequenceID
    }

    // MARK: sending

    /// A message whose slot is reserved: it joins the open batch, or becomes an entry of its own
    /// (no batching, or a message that may need chunking: chunks are never batched).
    mutating func send(_ message: PulsarOutgoingMessage, completion: Completion, now: NIODeadline, publishTime: UInt64) -> Plan {
        var plan = Plan()
        if case .closed(let error) = state {
            plan.resolution = releaseReservation()
            plan.refused = (completion, error)
            return plan
        }
        let sequenceID = assignSequenceID(explicit: message.sequenceID)
        let mayChunk = chunking && message.payload.readableBytes > maxMessageSize
        if !mayChunk, let added = batch?.add(.init(sequenceID: sequenceID, message: message, completion: completion)) {
            for items in added.closed { plan.jobs.append(enqueueBatch(items, now: now, publishTime: publishTime)) }
            plan.timer = added.timer
            return plan
        }
        // Keep the order: what waits in the open batch goes out before this message.
        if let open = batch?.close() { plan.jobs.append(enqueueBatch(open, now: now, publishTime: publishTime)) }
        plan.jobs.append(enqueue(
            sequenceID: sequenceID, highestSequenceID: sequenceID, completions: .one(completion),
            content: .single(sequenceID: sequenceID, message: message), now: now, publishTime: publishTime))
        return plan
    }

    /// The delay of the batch armed at `generation` ran out.
    mutating func batchTimerFired(generation: UInt64, now: NIODeadline, publishTime: UInt64) -> Plan {
        var plan = Plan()
        if let items = batch?.timerFired(generation: generation) {
            plan.jobs.append(enqueueBatch(items, now: now, publishTime: publishTime))
        }
        return plan
    }

    /// Closes the open batch and parks `waiter` until every entry queued so far resolved.
    mutating func flushRequested(_ waiter: Waiter, now: NIODeadline, publishTime: UInt64) -> Plan {
        var plan = Plan()
        if let items = batch?.close() { plan.jobs.append(enqueueBatch(items, now: now, publishTime: publishTime)) }
        if resolvedTotal >= enqueuedTotal {
            plan.resolution.resumeFlushers.append(waiter)
        } else {
            flushWaiters.append((enqueuedTotal, waiter))
        }
        return plan
    }

    /// The frames of entry `entryID` (or why they could not be built). Queues every entry that is
    /// now next in line for the connection.
    mutating func framesBuilt(entryID: UInt64, _ result: Result<[ByteBuffer], PulsarClientError>) -> WriteAction {
        var action = WriteAction()
        // Searched from the back: the entry being built is almost always among the newest. Gone
        // when it failed meanwhile (timeout, close): its completions ran already.
        guard let index = entries.lastIndex(where: { $0.id == entryID }) else { return action }
        switch result {
        case .success(let frames):
            entries[index].frames = frames
            entries[index].isBuilt = true
            entries[index].receiptsLeft = frames.count
        case .failure(let error):
            // Not built means not sent: nothing on the wire refers to it.
            let entry = entries.remove(at: index)
            occupiedSlots -= entry.messageCount
            resolvedTotal += 1
            action.resolution.failed.append((entry, error))
            finish(&action.resolution)
        }
        action.scheduleDrain = advance()
        return action
    }

    /// Frames for the connection, in order (run on its event loop).
    mutating func takeOutbox() -> [ByteBuffer] {
        drainScheduled = false
        var frames: [ByteBuffer] = []
        swap(&frames, &outbox)
        return frames
    }

    // MARK: broker events

    mutating func receiptReceived(sequenceID: UInt64, messageID: Pulsar_Proto_MessageIdData) -> ReceiptAction {
        guard sentCount > 0, let head = entries.first else { return .ignoreStale }
        if sequenceID < head.sequenceID { return .ignoreStale }
        if sequenceID > head.sequenceID {
            return .closeConnection(PulsarClientError(code: .protocolError,
                message: "receipt for sequence id \(sequenceID) while \(head.sequenceID) is the oldest pending: resending"))
        }
        entries[0].receiptsLeft -= 1
        // An earlier chunk of a chunked message: the message completes on its last receipt.
        guard entries[0].receiptsLeft <= 0 else { return .resolved(Resolution()) }
        let entry = entries.removeFirst()
        sentCount -= 1
        occupiedSlots -= entry.messageCount
        resolvedTotal += 1
        var resolution = Resolution()
        resolution.succeeded.append((entry, messageID))
        finish(&resolution)
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
        var resolution = Resolution()
        guard sendTimeout.nanoseconds > 0 else { return resolution }
        while let head = entries.first, head.enqueuedAt + sendTimeout <= now {
            let entry = entries.removeFirst()
            sentCount = max(0, sentCount - 1)
            occupiedSlots -= entry.messageCount
            resolvedTotal += 1
            resolution.failed.append((entry, .timeout("no receipt for sequence id \(entry.sequenceID) within the send timeout")))
        }
        if !resolution.failed.isEmpty { finish(&resolution) }
        return resolution
    }

    // MARK: connection lifecycle

    /// Epoch for the next PRODUCER command: 0 the first time, +1 for every re-creation.
    mutating func nextEpoch() -> UInt64 {
        defer { epoch += 1 }
        return epoch
    }

    /// PRODUCER_SUCCESS: go ready and queue every pending frame, oldest first and unchanged,
    /// before anything new. Returns whether a drain must be scheduled.
    mutating func producerCreated(lastSequenceID: Int64, producerName brokerName: String = "",
                                  maxMessageSize: Int = PulsarFrameConstants.defaultMaxMessageSize) -> Bool {
        if !hasBeenCreated {
            hasBeenCreated = true
            lastSequenceIDFromBroker = lastSequenceID
            if lastSequenceID >= 0 {
                nextSequenceID = max(nextSequenceID, UInt64(lastSequenceID) + 1)
            }
        }
        if producerName == nil || producerName == "" { producerName = brokerName }
        self.maxMessageSize = maxMessageSize
        reconnectAttempts = 0
        reconnectScheduled = false
        switch state {
        case .closed: return false
        case .closing: break  // keep draining
        case .connecting, .ready: state = .ready
        }
        isConnected = true
        sentCount = 0
        outbox = []
        return advance()
    }

    /// The connection dropped or the broker sent CLOSE_PRODUCER.
    mutating func disconnected(jitter: Double) -> DisconnectAction {
        isConnected = false
        sentCount = 0
        outbox = []
        switch state {
        case .closed:
            return .none
        case .closing where entries.isEmpty:
            return .closed(closeForGood(PulsarClientError(code: .producerClosed, message: "producer closed")))
        case .connecting, .ready, .closing:
            if case .ready = state { state = .connecting }
            guard !reconnectScheduled else { return .none }
            reconnectScheduled = true
            return .reconnect(after: nextBackoff(jitter: jitter))
        }
    }

    /// PRODUCER answered with ERROR (or failed to reach a broker) during a re-creation.
    mutating func creationFailed(_ error: PulsarClientError, jitter: Double) -> CreationFailureAction {
        reconnectScheduled = false
        if case .closed = state { return .closed(Resolution()) }
        switch error.serverError {
        case .topicNotFound?, .topicTerminatedError?, .producerFenced?, .notAllowedError?:
            return .closed(closeForGood(error))
        case .producerBlockedQuotaExceededException?:
            // The backlog quota rejects producers: fail what waits, keep trying to come back.
            reconnectScheduled = true
            return .retry(after: nextBackoff(jitter: jitter), failPending: failAll(error))
        default:
            if error.code == .producerFenced || error.code == .topicTerminated || error.code == .topicNotFound {
                return .closed(closeForGood(error))
            }
            reconnectScheduled = true
            return .retry(after: nextBackoff(jitter: jitter), failPending: Resolution())
        }
    }

    /// Stop accepting sends. Returns true when nothing is pending (CLOSE_PRODUCER can go now).
    mutating func closeRequested() -> Bool {
        switch state {
        case .closed: return true
        case .closing, .connecting, .ready:
            state = .closing
            return entries.isEmpty && (batch?.isEmpty ?? true)
        }
    }

    /// Final state: fail everything pending (and the open batch), and wake waiting senders.
    mutating func closeForGood(_ error: PulsarClientError) -> Resolution {
        if case .closed = state {} else { state = .closed(error) }
        return failAll(error)
    }

    // MARK: internals

    private mutating func enqueueBatch(_ items: [ProducerBatch<Completion>.Item], now: NIODeadline, publishTime: UInt64) -> FrameJob {
        enqueue(
            sequenceID: items[0].sequenceID, highestSequenceID: items[items.count - 1].sequenceID,
            completions: .many(items.map(\.completion)),
            content: .batch(items.map { ($0.sequenceID, $0.message) }), now: now, publishTime: publishTime)
    }

    private mutating func enqueue(
        sequenceID: UInt64, highestSequenceID: UInt64, completions: Completions, content: FrameJob.Content,
        now: NIODeadline, publishTime: UInt64
    ) -> FrameJob {
        let id = nextEntryID
        nextEntryID &+= 1
        entries.append(Entry(id: id, sequenceID: sequenceID, highestSequenceID: highestSequenceID, completions: completions, enqueuedAt: now))
        enqueuedTotal += 1
        return FrameJob(entryID: id, content: content, publishTime: publishTime, producerName: producerName ?? "",
                        maxMessageSize: maxMessageSize, chunking: chunking)
    }

    /// Moves every built entry that is next in line into the outbox; true when the owner must
    /// schedule a drain (the first frames since the last one).
    private mutating func advance() -> Bool {
        guard isConnected else { return false }
        if case .closed = state { return false }
        while sentCount < entries.count, entries[sentCount].isBuilt {
            let entry = entries[sentCount]
            outbox.append(contentsOf: entry.frames.suffix(max(0, entry.receiptsLeft)))
            sentCount += 1
        }
        guard !outbox.isEmpty, !drainScheduled else { return false }
        drainScheduled = true
        return true
    }

    private mutating func failAll(_ error: PulsarClientError) -> Resolution {
        var resolution = Resolution()
        if let items = batch?.close() {
            occupiedSlots -= items.count
            let entry = Entry(id: nextEntryID, sequenceID: items[0].sequenceID, highestSequenceID: items[items.count - 1].sequenceID,
                              completions: .many(items.map(\.completion)), enqueuedAt: .distantPast)
            resolution.failed.append((entry, error))
        }
        while let entry = entries.popFirst() {
            occupiedSlots -= entry.messageCount
            resolvedTotal += 1
            resolution.failed.append((entry, error))
        }
        sentCount = 0
        outbox = []
        if case .closed = state {
            // Waiters are woken holding a slot; their send then fails and releases it.
            let waiting = senders.count
            occupiedSlots += waiting
            resolution.resumeSenders = senders.grant(waiting)
            resolution.resumeFlushers = takeFlushers()
        } else {
            finish(&resolution)
        }
        return resolution
    }

    /// Adds the senders and flushers an event released.
    private mutating func finish(_ resolution: inout Resolution) {
        resolution.resumeSenders += handOverSlots()
        resolution.resumeFlushers += takeFlushers()
    }

    private mutating func takeFlushers() -> [Waiter] {
        guard !flushWaiters.isEmpty else { return [] }
        var done: [Waiter] = []
        flushWaiters.removeAll { waiter in
            guard waiter.target <= resolvedTotal else { return false }
            done.append(waiter.waiter)
            return true
        }
        return done
    }

    /// Gives freed slots to waiting senders, oldest first. Waits until a tenth of the queue is
    /// free, so a saturated sender wakes up once per burst rather than once per receipt.
    private mutating func handOverSlots() -> [Waiter] {
        let free = maxPendingMessages - occupiedSlots
        guard senders.count > 0, free >= max(1, maxPendingMessages / 10) else { return [] }
        let handed = min(free, senders.count)
        occupiedSlots += handed
        return senders.grant(handed)
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
extension ProducerStateMachine: Sendable where Completion: Sendable, Waiter: Sendable {}
