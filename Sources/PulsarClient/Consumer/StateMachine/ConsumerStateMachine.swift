import DequeModule
import NIOCore

/// The consumer's protocol logic as a value: subscription lifecycle, FLOW permits, the receive
/// queue, batch acknowledgement and reconnects. Every event returns the actions the glue must run
/// (send a command, resume the waiting reader, reconnect); nothing here does I/O.
struct ConsumerStateMachine: Sendable {
    /// What the application gets out of the queue: a message, or the typed error of one
    /// undecodable message (the iteration may continue after it).
    typealias Delivery = Result<PulsarMessage, PulsarConsumerError>

    enum State: Sendable, Equatable {
        /// Created, SUBSCRIBE not sent yet.
        case initialized
        /// SUBSCRIBE sent; `resubscribe` is false for the very first one, which the caller awaits.
        case subscribing(requestID: UInt64, resubscribe: Bool)
        case active
        /// The connection dropped or the broker closed the consumer; waiting for the glue to
        /// reconnect and call `subscribeRequested` again.
        case disconnected
        case closing(requestID: UInt64)
        case closed
    }

    enum Action: Sendable, Equatable {
        case sendSubscribe(requestID: UInt64)
        case sendFlow(permits: UInt32)
        case sendAck(AckCommand)
        /// Ask the broker to deliver these entries again (a corrupt frame was discarded).
        case sendRedeliver([EntryPosition])
        case sendCloseConsumer(requestID: UInt64)
        /// Resume the `subscribe(...)` caller.
        case subscribeSucceeded
        case subscribeFailed(PulsarClientErrorBox)
        /// Hand this to the reader waiting in `next()`.
        case resumeReader(Delivery)
        /// End the reader waiting in `next()` (nil: normal end after close).
        case finishReader(PulsarClientErrorBox?)
        /// Look the topic up again, reconnect, then call `subscribeRequested`.
        case reconnect
        /// Resume the `close()` caller.
        case closeCompleted
        /// Chunks not delivered as a message (their acks/redeliveries are separate actions):
        /// for the log, so a dropped chunked message is never silent.
        case chunksDiscarded(ChunkReassembler.Discard)
    }

    enum NextAction: Sendable, Equatable {
        case deliver(Delivery, flow: UInt32?)
        case wait
        case finish(PulsarClientErrorBox?)
    }

    struct AckCommand: Sendable, Hashable {
        enum Kind: Sendable, Hashable { case individual, cumulative }
        var kind: Kind
        var positions: [EntryPosition]
    }

    let receiverQueueSize: Int
    let subscriptionType: SubscriptionType
    private let decoder: IncomingMessageDecoder
    private(set) var state: State = .initialized
    private(set) var queue: Deque<Delivery> = []
    /// Messages the application took (or we skipped) since the last FLOW.
    private(set) var permitsToReturn = 0
    private(set) var batches = BatchAckTracker()
    /// Acknowledgements made while disconnected, sent right after the next SUBSCRIBE succeeds and
    /// before FLOW, so the broker does not redeliver what the application already processed.
    private(set) var pendingAcks: [AckCommand] = []
    private(set) var readerWaiting = false
    private var closeError: PulsarClientErrorBox?
    private(set) var chunks: ChunkReassembler
    /// Delivered chunked messages not acknowledged yet: the last chunk's position (the message's
    /// id) to every chunk's position, so one acknowledgement covers all chunks.
    private(set) var chunkedMessages: [EntryPosition: [EntryPosition]] = [:]

    init(topic: String, options: ConsumerOptions) {
        self.receiverQueueSize = options.receiverQueueSize
        self.subscriptionType = options.subscriptionType
        self.decoder = IncomingMessageDecoder(topic: topic)
        self.chunks = ChunkReassembler(limits: ChunkReassembler.Limits(
            maxPendingMessages: options.maxPendingChunkedMessages,
            maxPendingBytes: options.maxPendingChunkBytes,
            expiry: TimeAmount(options.chunkExpiry),
            acknowledgeDroppedMessages: options.acknowledgeDroppedChunkedMessages))
    }

    /// Refill when half of the queue was consumed, like the reference clients.
    var refillThreshold: Int { max(1, receiverQueueSize / 2) }

    // MARK: subscription lifecycle

    mutating func subscribeRequested(requestID: UInt64) -> [Action] {
        switch state {
        case .initialized:
            state = .subscribing(requestID: requestID, resubscribe: false)
        case .disconnected:
            state = .subscribing(requestID: requestID, resubscribe: true)
        case .subscribing, .active, .closing, .closed:
            return []
        }
        return [.sendSubscribe(requestID: requestID)]
    }

    mutating func subscribeSucceeded(requestID: UInt64) -> [Action] {
        guard case .subscribing(let expected, let resubscribe) = state, expected == requestID else { return [] }
        state = .active
        // Whatever was in flight on the old connection is gone: the broker starts counting again.
        permitsToReturn = 0
        var actions = pendingAcks.map(Action.sendAck)
        pendingAcks.removeAll()
        actions.append(.sendFlow(permits: UInt32(receiverQueueSize)))
        if !resubscribe { actions.append(.subscribeSucceeded) }
        return actions
    }

    /// - Parameter retry: whether a later attempt can succeed (e.g. ServiceNotReady, connection
    ///   loss) as opposed to a permanent refusal (ConsumerBusy on exclusive, not allowed, ...).
    mutating func subscribeFailed(requestID: UInt64, error: PulsarClientErrorBox, retry: Bool) -> [Action] {
        guard case .subscribing(let expected, let resubscribe) = state, expected == requestID else { return [] }
        if !resubscribe {
            state = .closed
            closeError = error
            return [.subscribeFailed(error)]
        }
        if retry {
            state = .disconnected
            return [.reconnect]
        }
        return closeForGood(error)
    }

    /// The connection carrying the consumer is gone, or the broker sent CLOSE_CONSUMER.
    mutating func disconnected(error: PulsarClientErrorBox) -> [Action] {
        switch state {
        case .subscribing(_, resubscribe: false):
            state = .closed
            closeError = error
            return [.subscribeFailed(error)]
        case .subscribing(_, resubscribe: true), .active:
            state = .disconnected
            // The broker redelivers every unacknowledged message to the new subscription.
            queue.removeAll()
            chunks.reset()
            permitsToReturn = 0
            return [.reconnect]
        case .closing:
            // Closing needs no broker answer once the connection is gone.
            return finishClose()
        case .initialized, .disconnected, .closed:
            return []
        }
    }

    /// Reconnecting gave up (topic deleted, not allowed, client closed).
    mutating func reconnectFailed(error: PulsarClientErrorBox) -> [Action] {
        switch state {
        case .closed, .closing: return []
        default: return closeForGood(error)
        }
    }

    mutating func closeRequested(requestID: UInt64) -> [Action] {
        switch state {
        case .active, .subscribing:
            state = .closing(requestID: requestID)
            return [.sendCloseConsumer(requestID: requestID)]
        case .initialized, .disconnected:
            return finishClose()
        case .closing, .closed:
            return [.closeCompleted]
        }
    }

    /// SUCCESS or ERROR for CLOSE_CONSUMER: either way the consumer is gone for us.
    mutating func closeAnswered(requestID: UInt64) -> [Action] {
        guard case .closing(let expected) = state, expected == requestID else { return [] }
        return finishClose()
    }

    private mutating func finishClose() -> [Action] {
        state = .closed
        queue.removeAll()
        var actions: [Action] = [.closeCompleted]
        if readerWaiting {
            readerWaiting = false
            actions.append(.finishReader(nil))
        }
        return actions
    }

    private mutating func closeForGood(_ error: PulsarClientErrorBox) -> [Action] {
        state = .closed
        closeError = error
        queue.removeAll()
        if readerWaiting {
            readerWaiting = false
            return [.finishReader(error)]
        }
        return []
    }

    // MARK: receiving

    /// A MESSAGE whose checksum matched. `now` ages incomplete chunked messages.
    mutating func messageReceived(
        command: Pulsar_Proto_CommandMessage,
        metadata: Pulsar_Proto_MessageMetadata,
        body: ByteBuffer,
        now: NIODeadline
    ) -> [Action] {
        guard state == .active else { return [] }
        let position = EntryPosition(ledgerID: command.messageID.ledgerID, entryID: command.messageID.entryID)
        var actions: [Action] = []
        var metadata = metadata
        var body = body
        var chunkIDs: [PulsarMessageID] = []
        if metadata.numChunksFromMsg > 1 {
            let outcome = chunks.receive(Self.chunk(command: command, metadata: metadata, body: body), now: now)
            actions += outcome.discarded.flatMap { discardActions($0) }
            guard let completed = outcome.completed else {
                // Held or dropped: its permit goes back now (the reassembler bounds the memory).
                if let flow = returnPermits(1) { actions.append(.sendFlow(permits: flow)) }
                return actions
            }
            body = completed.payload
            chunkIDs = completed.chunkIDs
            chunkedMessages[position] = chunkIDs.map { EntryPosition(ledgerID: $0.ledgerID, entryID: $0.entryID) }
            metadata.clearUuid()
            metadata.clearChunkID()
            metadata.clearNumChunksFromMsg()
            metadata.clearTotalChunkMsgSize()
        } else if chunks.pendingMessages > 0 {
            actions += chunks.expire(now: now).flatMap { discardActions($0) }
        }
        var deliveries: [Delivery] = []
        var skipped = 0
        do {
            let entry = try decoder.decode(
                command: command,
                metadata: metadata,
                body: body,
                locallyAcked: batches.acknowledgedIndexes(of: position)
            )
            if let size = entry.batchSize { batches.register(position, size: size) }
            deliveries = entry.messages.map { message in
                var message = message
                message.chunkIDs = chunkIDs
                return .success(message)
            }
            skipped = entry.skipped
        } catch {
            // Undecodable (e.g. unsupported codec): the application learns about it once, with the
            // message id, and may acknowledge it to move on. Redelivery would only repeat it.
            deliveries = [.failure(error)]
        }
        if skipped > 0, let flow = returnPermits(skipped) {
            actions.append(.sendFlow(permits: flow))
        }
        guard !deliveries.isEmpty else { return actions }
        if readerWaiting {
            readerWaiting = false
            let first = deliveries.removeFirst()
            queue.append(contentsOf: deliveries)
            if let flow = returnPermits(1) { actions.append(.sendFlow(permits: flow)) }
            actions.append(.resumeReader(first))
        } else {
            queue.append(contentsOf: deliveries)
        }
        return actions
    }

    /// A MESSAGE whose payload failed its CRC32C: never delivered, the broker is asked to send it
    /// again. Its permit is returned, or the consumer would slowly starve.
    mutating func corruptMessageReceived(command: Pulsar_Proto_CommandMessage) -> [Action] {
        guard state == .active else { return [] }
        let position = EntryPosition(ledgerID: command.messageID.ledgerID, entryID: command.messageID.entryID)
        var actions: [Action] = [.sendRedeliver([position])]
        if let flow = returnPermits(1) { actions.append(.sendFlow(permits: flow)) }
        return actions
    }

    /// The application asks for the next message.
    mutating func next() -> NextAction {
        if let delivery = queue.popFirst() {
            let flow = state == .active ? returnPermits(1) : nil
            return .deliver(delivery, flow: flow)
        }
        switch state {
        case .closed, .closing:
            return .finish(closeError)
        default:
            readerWaiting = true
            return .wait
        }
    }

    /// The waiting reader was cancelled.
    mutating func readerCancelled() {
        readerWaiting = false
    }

    private mutating func returnPermits(_ count: Int) -> UInt32? {
        permitsToReturn += count
        guard permitsToReturn >= refillThreshold else { return nil }
        defer { permitsToReturn = 0 }
        return UInt32(clamping: permitsToReturn)
    }

    // MARK: acknowledging

    mutating func acknowledge(_ id: PulsarMessageID) throws(PulsarConsumerError) -> [Action] {
        try requireOpen(id)
        let position = EntryPosition(ledgerID: id.ledgerID, entryID: id.entryID)
        if let all = chunkedMessages.removeValue(forKey: position) {
            return send(AckCommand(kind: .individual, positions: all))
        }
        if id.batchIndex >= 0 {
            guard batches.acknowledge(position, index: Int(id.batchIndex)) else { return [] }
        }
        return send(AckCommand(kind: .individual, positions: [position]))
    }

    mutating func acknowledgeCumulative(_ id: PulsarMessageID) throws(PulsarConsumerError) -> [Action] {
        try requireOpen(id)
        guard subscriptionType.allowsCumulativeAck else {
            throw PulsarConsumerError(
                code: .cumulativeAckNotAllowed,
                messageID: id,
                detail: "cumulative acknowledgement is not allowed on \(subscriptionType) subscriptions"
            )
        }
        var position = EntryPosition(ledgerID: id.ledgerID, entryID: id.entryID)
        // The cumulative acknowledgement covers every chunk up to this one.
        chunkedMessages = chunkedMessages.filter { $0.key > position }
        if id.batchIndex >= 0, !batches.acknowledgeCumulatively(position, index: Int(id.batchIndex)) {
            // Part of this batch is still open: everything up to the previous entry is done.
            guard position.entryID > 0 else { return [] }
            position.entryID -= 1
        }
        return send(AckCommand(kind: .cumulative, positions: [position]))
    }

    private func requireOpen(_ id: PulsarMessageID) throws(PulsarConsumerError) {
        switch state {
        case .closing, .closed:
            throw PulsarConsumerError(code: .consumerClosed, messageID: id, detail: "the consumer is closed")
        default:
            return
        }
    }

    fileprivate mutating func send(_ ack: AckCommand) -> [Action] {
        if state == .active { return [.sendAck(ack)] }
        pendingAcks.append(ack)
        return []
    }
}

extension ConsumerStateMachine {
    static func chunk(command: Pulsar_Proto_CommandMessage, metadata: Pulsar_Proto_MessageMetadata, body: ByteBuffer) -> ChunkReassembler.Chunk {
        let entry = command.messageID
        return ChunkReassembler.Chunk(
            uuid: metadata.uuid, chunkID: Int(metadata.chunkID), numChunks: Int(metadata.numChunksFromMsg),
            totalSize: Int(metadata.totalChunkMsgSize),
            id: PulsarMessageID(ledgerID: entry.ledgerID, entryID: entry.entryID, partition: entry.partition, batchIndex: -1),
            payload: body)
    }

    /// The chunks' acknowledgement or redelivery, plus the report for the log.
    mutating func discardActions(_ discard: ChunkReassembler.Discard) -> [Action] {
        let positions = discard.chunkIDs.map { EntryPosition(ledgerID: $0.ledgerID, entryID: $0.entryID) }
        var actions: [Action] = [.chunksDiscarded(discard)]
        guard !positions.isEmpty else { return actions }
        switch discard.disposition {
        case .acknowledge: actions += send(AckCommand(kind: .individual, positions: positions))
        case .redeliver: actions.append(.sendRedeliver(positions))
        case .leave: break
        }
        return actions
    }

    /// An acknowledgement could not be written (the connection just died): keep it for the next
    /// subscription instead of letting the broker redeliver a processed message.
    mutating func ackSendFailed(_ ack: AckCommand) {
        guard state != .closed else { return }
        pendingAcks.append(ack)
    }
}

extension ConsumerStateMachine.Action {
    /// Whether running this action needs the parked reader's continuation.
    var involvesReader: Bool {
        switch self {
        case .resumeReader, .finishReader: true
        default: false
        }
    }
}
