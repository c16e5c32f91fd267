#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DequeModule
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Publishes to one topic (or one partition of a partitioned topic): runs `ProducerStateMachine`
/// under a lock, writes frames in queue order with write coalescing, and reconnects with backoff.
final class PartitionProducer: Sendable {
    typealias Completion = @Sendable (Result<PulsarMessageID, PulsarClientError>) -> Void
    typealias Machine = ProducerStateMachine<Completion>

    let topic: String
    let partitionIndex: Int32
    let producerID: UInt64
    let options: ProducerOptions
    private let client: PulsarClient
    private let logger: Logger
    /// Runs timers (send timeout, batch delay).
    private let eventLoop: any EventLoop
    private let state: NIOLockedValueBox<LockedState>

    private struct LockedState: Sendable {
        var machine: Machine
        var producerName: String?
        var connection: PulsarConnection?
        var maxMessageSize = PulsarFrameConstants.defaultMaxMessageSize
        /// Frames waiting to be written by the next drain on the connection's event loop.
        var outbox: [ByteBuffer] = []
        var drainScheduled = false
        var slotWaiters: Deque<CheckedContinuation<Void, Never>> = []
        /// Slots handed to senders that had not parked their continuation yet.
        var unclaimedGrants = 0
        var flushWaiters: [(target: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
        var batch: [(sequenceID: UInt64, message: PulsarOutgoingMessage, completion: Completion)] = []
        var batchBytes = 0
        var batchTimer: Scheduled<Void>?
        var timeoutTask: RepeatedTask?
        var reconnectScheduled = false
    }

    init(client: PulsarClient, topic: String, partitionIndex: Int32, producerID: UInt64, options: ProducerOptions) {
        self.client = client
        self.topic = topic
        self.partitionIndex = partitionIndex
        self.producerID = producerID
        self.options = options
        self.eventLoop = client.eventLoopGroup.next()
        var logger = client.logger
        logger[metadataKey: "pulsar.topic"] = "\(topic)"
        logger[metadataKey: "pulsar.producer_id"] = "\(producerID)"
        self.logger = logger
        let configuration = client.configuration
        self.state = NIOLockedValueBox(LockedState(machine: Machine(
            maxPendingMessages: options.maxPendingMessages,
            initialBackoff: TimeAmount(configuration.initialBackoff),
            maxBackoff: TimeAmount(configuration.maxBackoff))))
        self.state.withLockedValue { $0.producerName = options.name }
    }

    var producerName: String { state.withLockedValue { $0.producerName ?? "" } }
    var lastSequenceID: Int64 { state.withLockedValue { $0.machine.lastSequenceIDFromBroker } }

    // MARK: creation

    /// First creation: retried on transient errors until the operation timeout, errors thrown.
    func start() async throws(PulsarClientError) {
        let deadline = ContinuousClock.now + client.configuration.operationTimeout
        var attempt = 0
        while true {
            do {
                try await establish(assignedBrokerURL: nil)
                break
            } catch {
                attempt += 1
                let transient = error.code == .connectionFailed || error.code == .connectionClosed || error.code == .timeout
                    || error.serverError == .serviceNotReady || error.serverError == .tooManyRequests
                    || error.serverError == .producerBusy && options.name == nil
                let delay = Duration.milliseconds(min(100 << min(attempt, 5), 2000))
                guard transient, ContinuousClock.now + delay < deadline else {
                    _ = state.withLockedValue { $0.machine.closeForGood(error) }
                    throw error
                }
                logger.debug("producer creation failed, retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: delay)
            }
        }
        startSendTimeoutTimer()
    }

    /// Looks up the topic, registers on the connection, sends PRODUCER, and on PRODUCER_SUCCESS
    /// goes ready after queueing every pending frame for resend.
    private func establish(assignedBrokerURL: String?) async throws(PulsarClientError) {
        try checkNotClosed()
        let connection = try await client.connection(forTopic: topic, assignedBrokerURL: assignedBrokerURL)
        // Closed while connecting (a reconnect racing close()): do not register the name again.
        try checkNotClosed()
        let binding = ConnectionBinding(producer: self, connection: connection)
        try connection.registerProducer(producerID, handler: binding)
        let (epoch, name) = state.withLockedValue { ($0.machine.nextEpoch(), $0.producerName) }
        let requestID = connection.nextRequestID()
        let command = PulsarCommands.producer(
            topic: topic, producerID: producerID, requestID: requestID, producerName: name,
            userProvidedName: options.name != nil, epoch: epoch)
        let response: Pulsar_Proto_BaseCommand
        do {
            response = try await connection.request(command, requestID: requestID, timeout: client.configuration.operationTimeout)
        } catch {
            connection.unregisterProducer(producerID)
            if error.code == .timeout {
                // The broker may still create it: tell it to drop this attempt (no need to wait).
                try? connection.send(PulsarCommands.closeProducer(producerID: producerID, requestID: connection.nextRequestID()))
            }
            throw error
        }
        guard response.type == .producerSuccess else {
            connection.unregisterProducer(producerID)
            throw PulsarClientError(code: .protocolError, message: "\(response.type) in answer to PRODUCER")
        }
        let success = response.producerSuccess
        if case .closed(let error) = state.withLockedValue({ $0.machine.state }) {
            // close() finished while PRODUCER was in flight: give the name back to the broker.
            connection.unregisterProducer(producerID)
            try? connection.send(PulsarCommands.closeProducer(producerID: producerID, requestID: connection.nextRequestID()))
            throw error
        }
        let drain: Bool = state.withLockedValue { state in
            if state.producerName == nil || state.producerName == "" { state.producerName = success.producerName }
            state.connection = connection
            state.maxMessageSize = connection.maxMessageSize
            state.reconnectScheduled = false
            let frames = state.machine.producerCreated(lastSequenceID: success.lastSequenceID)
            // Anything in the outbox belonged to a dead connection and is part of `frames` anyway.
            state.outbox = frames
            guard !frames.isEmpty, !state.drainScheduled else { return false }
            state.drainScheduled = true
            return true
        }
        logger.debug("producer ready", metadata: ["pulsar.producer_name": "\(success.producerName)", "epoch": "\(epoch)"])
        if drain { connection.eventLoop.execute { self.drainOutbox() } }
    }

    private func checkNotClosed() throws(PulsarClientError) {
        let closedWith: PulsarClientError? = state.withLockedValue { state in
            if case .closed(let error) = state.machine.state { return error }
            return nil
        }
        if let closedWith { throw closedWith }
    }

    // MARK: sending

    /// Claims a slot in the pending queue, suspending while it is full (backpressure).
    /// Must be followed by exactly one `enqueue`.
    nonisolated(nonsending) func acquireSlot() async throws(PulsarClientError) {
        let reserve = state.withLockedValue { $0.machine.reserveSlot() }
        switch reserve {
        case .reserved:
            return
        case .failed(let error):
            throw error
        case .mustWait:
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let granted = state.withLockedValue { state -> Bool in
                    // A slot may have been handed over between the reservation and now.
                    if state.unclaimedGrants > 0 {
                        state.unclaimedGrants -= 1
                        return true
                    }
                    state.slotWaiters.append(continuation)
                    return false
                }
                if granted { continuation.resume() }
            }
        }
    }

    /// Queues a message whose slot is already reserved; never suspends.
    func enqueue(_ message: PulsarOutgoingMessage, completion: @escaping Completion) {
        let now = NIODeadline.now()
        let publishTime = UInt64(max(0, Self.wallClockMilliseconds()))
        var failure: PulsarClientError?
        var drainOn: PulsarConnection?
        var resolution: Machine.Resolution?
        var batchFailures: [(Completion, PulsarClientError)] = []
        var flushOn: (any EventLoop)?
        state.withLockedValue { state in
            if case .closed(let error) = state.machine.state {
                resolution = state.machine.releaseReservation()
                failure = error
                return
            }
            let sequenceID = state.machine.assignSequenceID(explicit: message.sequenceID)
            // A message that may need chunking bypasses batching; chunks are never batched.
            let mayChunk = options.chunking && message.payload.readableBytes > state.maxMessageSize
            if let batching = options.batching, !mayChunk {
                var outcome = BatchOutcome()
                defer {
                    drainOn = outcome.drainOn
                    batchFailures = outcome.failed
                    resolution = outcome.resolution
                }
                // A message that would overflow the open batch starts the next one, so a big
                // message never drags small ones past the broker's size limit.
                if !state.batch.isEmpty, state.batchBytes + message.payload.readableBytes > batching.maxBytes {
                    outcome.absorb(closeBatch(&state, now: now, publishTime: publishTime))
                }
                state.batch.append((sequenceID, message, completion))
                state.batchBytes += message.payload.readableBytes
                if state.batch.count >= batching.maxMessages || state.batchBytes >= batching.maxBytes {
                    outcome.absorb(closeBatch(&state, now: now, publishTime: publishTime))
                } else if state.batch.count == 1 {
                    if batching.maxDelay == .zero {
                        // Close the batch on the connection's next event-loop turn: whatever is
                        // enqueued until then rides along, a lone message leaves without delay.
                        flushOn = state.connection?.eventLoop ?? eventLoop
                    } else {
                        state.batchTimer = eventLoop.scheduleTask(in: TimeAmount(batching.maxDelay)) { [weak self] in
                            self?.flushBatch()
                        }
                    }
                }
                return
            }
            if mayChunk, !state.batch.isEmpty {
                // Keep the order: what is waiting in the open batch goes out before the chunks.
                let outcome = closeBatch(&state, now: now, publishTime: publishTime)
                drainOn = outcome.drainOn
                batchFailures = outcome.failed
                resolution = outcome.resolution
            }
            let builder = SendFrameBuilder(producerID: producerID, producerName: state.producerName ?? "", compression: options.compression)
            let frames: [ByteBuffer]
            do throws(PulsarClientError) {
                frames = try builder.frames(message, sequenceID: sequenceID, publishTime: publishTime,
                                            maxMessageSize: state.maxMessageSize, chunking: options.chunking)
            } catch {
                resolution = BatchOutcome.merge(resolution, state.machine.releaseReservation())
                failure = error
                return
            }
            // Chunks are separate entries with one sequence id; only the last carries the
            // completion and the message's slot, so the message completes on the last receipt.
            for (index, frame) in frames.enumerated() {
                let completions: Machine.Completions = index == frames.count - 1 ? .one(completion) : .earlierChunk
                let entry = Machine.Entry(sequenceID: sequenceID, highestSequenceID: sequenceID, frame: frame, completions: completions, enqueuedAt: now)
                switch state.machine.enqueue(entry) {
                case .write(let frame):
                    drainOn = appendToOutbox(&state, frame) ?? drainOn
                case .queued:
                    break
                case .fail(let error):
                    if index < frames.count - 1 { resolution = BatchOutcome.merge(resolution, state.machine.releaseReservation()) }
                    failure = error
                    return
                }
            }
        }
        if let resolution { complete(resolution) }
        if let failure { completion(.failure(failure)) }
        for (failedCompletion, error) in batchFailures { failedCompletion(.failure(error)) }
        if let drainOn { drainOn.eventLoop.execute { self.drainOutbox() } }
        if let flushOn { flushOn.execute { self.flushBatch() } }
    }

    /// Turns the open batch into one SEND entry (to be completed outside the lock).
    private func closeBatch(_ state: inout LockedState, now: NIODeadline, publishTime: UInt64) -> BatchOutcome {
        state.batchTimer?.cancel()
        state.batchTimer = nil
        guard !state.batch.isEmpty else { return BatchOutcome() }
        let items = state.batch
        state.batch = []
        state.batchBytes = 0
        let builder = SendFrameBuilder(producerID: producerID, producerName: state.producerName ?? "", compression: options.compression)
        let completions = items.map(\.completion)
        func failAll(_ error: PulsarClientError) -> BatchOutcome {
            var resolution = state.machine.releaseReservation()
            for _ in 1..<items.count { resolution.resumeWaiters += state.machine.releaseReservation().resumeWaiters }
            return BatchOutcome(failed: completions.map { ($0, error) }, resolution: resolution)
        }
        let frame: ByteBuffer
        do throws(PulsarClientError) {
            frame = try builder.batch(items.map { ($0.sequenceID, $0.message) }, publishTime: publishTime)
        } catch {
            return failAll(error)
        }
        guard frame.readableBytes <= state.maxMessageSize else {
            return failAll(PulsarClientError(
                code: .messageTooLarge,
                message: "batch of \(items.count) message(s), \(frame.readableBytes) bytes, exceeds the broker limit of \(state.maxMessageSize)"))
        }
        let entry = Machine.Entry(
            sequenceID: items[0].sequenceID, highestSequenceID: items[items.count - 1].sequenceID,
            frame: frame, completions: .many(completions), enqueuedAt: now)
        switch state.machine.enqueue(entry) {
        case .write(let frame):
            return BatchOutcome(drainOn: appendToOutbox(&state, frame))
        case .queued:
            return BatchOutcome()
        case .fail(let error):
            return BatchOutcome(failed: completions.map { ($0, error) })
        }
    }

    private func flushBatch() {
        let outcome = state.withLockedValue { state in
            closeBatch(&state, now: .now(), publishTime: UInt64(max(0, Self.wallClockMilliseconds())))
        }
        finish(outcome)
    }

    private func finish(_ outcome: BatchOutcome) {
        if let resolution = outcome.resolution { complete(resolution) }
        for (completion, error) in outcome.failed { completion(.failure(error)) }
        guard let drainOn = outcome.drainOn else { return }
        // Already on the connection's loop (a batch closed by the tick flush): write now, no extra hop.
        if drainOn.eventLoop.inEventLoop {
            drainOutbox()
        } else {
            drainOn.eventLoop.execute { self.drainOutbox() }
        }
    }

    /// Appends under the lock so the outbox order is the queue order; returns the connection
    /// whose event loop must run a drain (only for the first frame since the last drain).
    private func appendToOutbox(_ state: inout LockedState, _ frame: ByteBuffer) -> PulsarConnection? {
        state.outbox.append(frame)
        guard !state.drainScheduled, let connection = state.connection else { return nil }
        state.drainScheduled = true
        return connection
    }

    /// Writes everything queued since the last drain with a single flush. Runs on the current
    /// connection's event loop (hopping there first if needed) so frames can never be reordered.
    private func drainOutbox() {
        var frames: [ByteBuffer] = []
        let (connection, hop) = state.withLockedValue { state -> (PulsarConnection?, Bool) in
            guard let connection = state.connection else {
                state.drainScheduled = false
                return (nil, false)
            }
            guard connection.eventLoop.inEventLoop else { return (connection, true) }
            state.drainScheduled = false
            swap(&frames, &state.outbox)
            return (connection, false)
        }
        guard let connection else { return }
        if hop {
            connection.eventLoop.execute { self.drainOutbox() }
            return
        }
        if !frames.isEmpty { connection.writeFrames(frames) }
    }

    // MARK: flush and close

    func flush() async {
        let outcome = state.withLockedValue { closeBatch(&$0, now: .now(), publishTime: UInt64(max(0, Self.wallClockMilliseconds()))) }
        finish(outcome)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLockedValue { state -> Bool in
                let target = state.machine.enqueuedTotal
                if state.machine.resolvedTotal >= target { return true }
                state.flushWaiters.append((target, continuation))
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Stops accepting sends, waits for the pending ones (at most `drainTimeout` when given: what
    /// is still pending then fails with `producerClosed`), and closes the producer on the broker.
    func close(drainTimeout: Duration? = nil) async throws(PulsarClientError) {
        _ = state.withLockedValue { $0.machine.closeRequested() }
        if let drainTimeout {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.flush() }
                group.addTask { try? await Task.sleep(for: drainTimeout) }
                await group.next()
                group.cancelAll()
                // Fails whatever is still pending, which also releases a flush still waiting.
                let resolution = state.withLockedValue {
                    $0.machine.closeForGood(PulsarClientError(code: .producerClosed, message: "closed before the broker acknowledged"))
                }
                complete(resolution)
            }
        } else {
            await flush()
        }
        let (connection, resolution, timers) = state.withLockedValue { state in
            let resolution = state.machine.closeForGood(PulsarClientError(code: .producerClosed, message: "the producer is closed"))
            let connection = state.connection
            state.connection = nil
            let timers = (state.timeoutTask, state.batchTimer)
            state.timeoutTask = nil
            state.batchTimer = nil
            return (connection, resolution, timers)
        }
        timers.0?.cancel()
        timers.1?.cancel()
        complete(resolution)
        guard let connection, connection.isActive else { return }
        connection.unregisterProducer(producerID)
        let requestID = connection.nextRequestID()
        _ = try? await connection.request(PulsarCommands.closeProducer(producerID: producerID, requestID: requestID),
                                          requestID: requestID, timeout: client.configuration.operationTimeout)
    }

    // MARK: broker events (on the connection's event loop)

    fileprivate func receiptReceived(_ receipt: Pulsar_Proto_CommandSendReceipt, from connection: PulsarConnection) {
        let action = state.withLockedValue { state -> Machine.ReceiptAction? in
            guard state.connection === connection else { return nil }
            return state.machine.receiptReceived(sequenceID: receipt.sequenceID, messageID: receipt.messageID)
        }
        switch action {
        case .resolved(let resolution)?:
            complete(resolution)
        case .closeConnection(let error)?:
            logger.warning("out-of-order receipt, reconnecting to resend", metadata: ["error": "\(error)"])
            connection.close(error: error)
        case .ignoreStale?, nil:
            break
        }
    }

    fileprivate func sendErrorReceived(_ sendError: Pulsar_Proto_CommandSendError, from connection: PulsarConnection) {
        let action = state.withLockedValue { state -> Machine.SendErrorAction? in
            guard state.connection === connection else { return nil }
            return state.machine.sendErrorReceived(sequenceID: sendError.sequenceID, error: sendError.error, message: sendError.message)
        }
        switch action {
        case .closeConnection(let error)?:
            logger.warning("SEND_ERROR, reconnecting to resend", metadata: ["error": "\(error)"])
            connection.close(error: error)
        case .closeProducer(let resolution)?:
            logger.error("SEND_ERROR, producer closed for good", metadata: ["error": "\(String(describing: resolution.failed.first?.1))"])
            connection.unregisterProducer(producerID)
            complete(resolution)
        case nil:
            break
        }
    }

    fileprivate func disconnected(from connection: PulsarConnection, error: PulsarClientError, assignedBrokerURL: String?) {
        let action = state.withLockedValue { state -> Machine.DisconnectAction? in
            guard state.connection === connection else { return nil }
            state.connection = nil
            state.outbox = []
            return state.machine.disconnected(jitter: Double.random(in: 0...1))
        }
        switch action {
        case .reconnect(let delay)?:
            logger.info("producer disconnected, reconnecting", metadata: ["error": "\(error)", "delay_ms": "\(delay.nanoseconds / 1_000_000)"])
            scheduleReconnect(after: delay, assignedBrokerURL: assignedBrokerURL)
        case .closed(let resolution)?:
            complete(resolution)
        case .none?, nil:
            break
        }
    }

    private func scheduleReconnect(after delay: TimeAmount, assignedBrokerURL: String?) {
        let shouldStart = state.withLockedValue { state -> Bool in
            guard !state.reconnectScheduled else { return false }
            state.reconnectScheduled = true
            return true
        }
        guard shouldStart else { return }
        eventLoop.scheduleTask(in: delay) {
            Task { await self.reconnect(assignedBrokerURL: assignedBrokerURL) }
        }
    }

    private func reconnect(assignedBrokerURL: String?) async {
        do {
            try await establish(assignedBrokerURL: assignedBrokerURL)
        } catch {
            let action = state.withLockedValue { state -> Machine.CreationFailureAction in
                state.reconnectScheduled = false
                return state.machine.creationFailed(error, jitter: Double.random(in: 0...1))
            }
            switch action {
            case .retry(let delay, let failPending):
                logger.info("producer re-creation failed, retrying", metadata: ["error": "\(error)", "delay_ms": "\(delay.nanoseconds / 1_000_000)"])
                complete(failPending)
                scheduleReconnect(after: delay, assignedBrokerURL: nil)
            case .closed(let resolution):
                if error.code == .producerClosed {
                    logger.debug("producer closed while reconnecting")
                } else {
                    logger.error("producer cannot be re-created, closing it", metadata: ["error": "\(error)"])
                }
                complete(resolution)
            }
        }
    }

    // MARK: timers and completion

    private func startSendTimeoutTimer() {
        let timeout = TimeAmount(options.sendTimeout)
        guard timeout.nanoseconds > 0 else { return }
        let period = TimeAmount.nanoseconds(min(max(timeout.nanoseconds / 10, 10_000_000), 1_000_000_000))
        let task = eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { [weak self] _ in
            guard let self else { return }
            let resolution = self.state.withLockedValue { $0.machine.checkTimeouts(now: .now(), sendTimeout: timeout) }
            if !resolution.isEmpty { self.complete(resolution) }
        }
        state.withLockedValue { $0.timeoutTask = task }
    }

    /// Runs completions and resumes senders / flushers, outside the lock.
    private func complete(_ resolution: Machine.Resolution) {
        let (waiters, flushers) = state.withLockedValue { state -> ([CheckedContinuation<Void, Never>], [CheckedContinuation<Void, Never>]) in
            var waiters: [CheckedContinuation<Void, Never>] = []
            for _ in 0..<resolution.resumeWaiters {
                if let waiter = state.slotWaiters.popFirst() {
                    waiters.append(waiter)
                } else {
                    state.unclaimedGrants += 1
                }
            }
            var flushers: [CheckedContinuation<Void, Never>] = []
            if !state.flushWaiters.isEmpty {
                let resolved = state.machine.resolvedTotal
                state.flushWaiters.removeAll { waiter in
                    guard waiter.target <= resolved else { return false }
                    flushers.append(waiter.continuation)
                    return true
                }
            }
            return (waiters, flushers)
        }
        for (entry, data) in resolution.succeeded {
            switch entry.completions {
            case .earlierChunk:
                break
            case .one(let completion):
                completion(.success(PulsarMessageID(ledgerID: data.ledgerID, entryID: data.entryID, partition: partitionIndex, batchIndex: -1)))
            case .many(let completions):
                for (index, completion) in completions.enumerated() {
                    completion(.success(PulsarMessageID(ledgerID: data.ledgerID, entryID: data.entryID, partition: partitionIndex, batchIndex: Int32(index))))
                }
            }
        }
        for (entry, error) in resolution.failed {
            for completion in entry.completions.all { completion(.failure(error)) }
        }
        for waiter in waiters { waiter.resume() }
        for flusher in flushers { flusher.resume() }
    }

    private static func wallClockMilliseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }
}

/// Ties a producer's registration to one connection so stale events are recognisable.
private final class ConnectionBinding: PulsarProducerEventHandler {
    let producer: PartitionProducer
    let connection: PulsarConnection

    init(producer: PartitionProducer, connection: PulsarConnection) {
        self.producer = producer
        self.connection = connection
    }

    func handleSendReceipt(_ command: Pulsar_Proto_CommandSendReceipt) {
        producer.receiptReceived(command, from: connection)
    }

    func handleSendError(_ command: Pulsar_Proto_CommandSendError) {
        producer.sendErrorReceived(command, from: connection)
    }

    func handleCloseProducer(_ command: Pulsar_Proto_CommandCloseProducer) {
        let url = command.hasAssignedBrokerServiceURL ? command.assignedBrokerServiceURL : nil
        producer.disconnected(from: connection, error: PulsarClientError(code: .connectionClosed, message: "broker closed the producer"), assignedBrokerURL: url)
    }

    func handleConnectionClosed(_ error: PulsarClientError) {
        producer.disconnected(from: connection, error: error, assignedBrokerURL: nil)
    }
}
