#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Publishes to one topic (or one partition of a partitioned topic). The logic is
/// `ProducerStateMachine`'s, run under a lock; this class only performs its actions: it builds
/// frames outside the lock, writes them on the connection's event loop with write coalescing,
/// arms timers, parks and resumes senders, and reconnects.
final class PartitionProducer: Sendable {
    typealias Completion = @Sendable (Result<PulsarMessageID, PulsarClientError>) -> Void
    /// A parked sender (resumed holding a slot, or with an error) or a parked `flush()`.
    typealias Waiter = CheckedContinuation<Result<Void, PulsarClientError>, Never>
    typealias Machine = ProducerStateMachine<Completion, Waiter>

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
        var connection: PulsarConnection?
        var timeoutTask: RepeatedTask?
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
            maxPendingMessages: options.maxPendingMessages, batching: options.batching, chunking: options.chunking,
            producerName: options.name,
            initialBackoff: TimeAmount(configuration.initialBackoff), maxBackoff: TimeAmount(configuration.maxBackoff))))
    }

    var producerName: String { state.withLockedValue { $0.machine.producerName ?? "" } }
    var lastSequenceID: Int64 { state.withLockedValue { $0.machine.lastSequenceIDFromBroker } }
    /// Senders suspended for room in the pending queue (observable state for tests).
    var waitingSenders: Int { state.withLockedValue { $0.machine.waitingSenders } }

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
                    complete(state.withLockedValue { $0.machine.closeForGood(error) })
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
        let (epoch, name) = state.withLockedValue { ($0.machine.nextEpoch(), $0.machine.producerName) }
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
        let drain = state.withLockedValue { state in
            state.connection = connection
            return state.machine.producerCreated(
                lastSequenceID: success.lastSequenceID, producerName: success.producerName, maxMessageSize: connection.maxMessageSize)
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

    /// Claims a slot in the pending queue, suspending while it is full (backpressure); a
    /// cancelled task stops waiting with `.cancelled`. Must be followed by exactly one `enqueue`.
    nonisolated(nonsending) func acquireSlot() async throws(PulsarClientError) {
        let reserve = state.withLockedValue { $0.machine.reserveSlot() }
        switch reserve {
        case .reserved:
            return
        case .failed(let error):
            throw error
        case .mustWait(let id):
            let result = await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: Waiter) in
                    let action = state.withLockedValue { $0.machine.parkSender(id, continuation) }
                    if case .resume(let result) = action { continuation.resume(returning: result) }
                }
            } onCancel: {
                let waiter = state.withLockedValue { $0.machine.cancelWaiting(id) }
                waiter?.resume(returning: .failure(Machine.cancelled))
            }
            try result.get()
        }
    }

    /// Queues a message whose slot is already reserved; never suspends.
    func enqueue(_ message: PulsarOutgoingMessage, completion: @escaping Completion) {
        let now = NIODeadline.now()
        let publishTime = Self.publishTime()
        let plan = state.withLockedValue { $0.machine.send(message, completion: completion, now: now, publishTime: publishTime) }
        run(plan)
    }

    /// Performs a plan outside the lock: completions, the batch timer, then the frames.
    private func run(_ plan: Machine.Plan) {
        if let (completion, error) = plan.refused { completion(.failure(error)) }
        complete(plan.resolution)
        if let timer = plan.timer { arm(timer) }
        for job in plan.jobs { build(job) }
    }

    /// Serializes (and compresses) outside the lock; the machine puts the frames in queue order.
    private func build(_ job: FrameJob) {
        let result: Result<[ByteBuffer], PulsarClientError>
        do throws(PulsarClientError) {
            result = .success(try job.build(producerID: producerID, compression: options.compression))
        } catch {
            result = .failure(error)
        }
        let (action, connection) = state.withLockedValue { state in
            (state.machine.framesBuilt(entryID: job.entryID, result), state.connection)
        }
        complete(action.resolution)
        if action.scheduleDrain { scheduleDrain(on: connection) }
    }

    private func arm(_ timer: ProducerBatch<Completion>.CloseTimer) {
        switch timer {
        case .after(let delay, let generation):
            eventLoop.scheduleTask(in: TimeAmount(delay)) { [weak self] in self?.batchTimerFired(generation) }
        case .nextTick(let generation):
            // On the connection's loop: what is enqueued until its next turn rides along.
            let loop = state.withLockedValue { $0.connection?.eventLoop } ?? eventLoop
            loop.execute { [weak self] in self?.batchTimerFired(generation) }
        }
    }

    private func batchTimerFired(_ generation: UInt64) {
        let now = NIODeadline.now()
        let publishTime = Self.publishTime()
        run(state.withLockedValue { $0.machine.batchTimerFired(generation: generation, now: now, publishTime: publishTime) })
    }

    /// A drain on the connection's next loop turn: everything queued until then goes out in one flush.
    private func scheduleDrain(on connection: PulsarConnection?) {
        guard let connection else {
            _ = state.withLockedValue { $0.machine.takeOutbox() }
            return
        }
        connection.eventLoop.execute { self.drainOutbox() }
    }

    /// Writes everything queued since the last drain with a single flush. Runs on the current
    /// connection's event loop (hopping there first if needed) so frames can never be reordered.
    private func drainOutbox() {
        let (connection, frames, hop) = state.withLockedValue { state -> (PulsarConnection?, [ByteBuffer], Bool) in
            guard let connection = state.connection else {
                _ = state.machine.takeOutbox()
                return (nil, [], false)
            }
            guard connection.eventLoop.inEventLoop else { return (connection, [], true) }
            return (connection, state.machine.takeOutbox(), false)
        }
        guard let connection else { return }
        if hop {
            connection.eventLoop.execute { self.drainOutbox() }
            return
        }
        if !frames.isEmpty { connection.writeFrames(frames) }
    }

    // MARK: flush and close

    /// Sends the open batch and waits until every message queued so far got its receipt or failed.
    func flush() async {
        let now = NIODeadline.now()
        let publishTime = Self.publishTime()
        _ = await withCheckedContinuation { (continuation: Waiter) in
            run(state.withLockedValue { $0.machine.flushRequested(continuation, now: now, publishTime: publishTime) })
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
        let (connection, resolution, timeoutTask) = state.withLockedValue { state in
            let resolution = state.machine.closeForGood(PulsarClientError(code: .producerClosed, message: "the producer is closed"))
            let connection = state.connection
            state.connection = nil
            let timeoutTask = state.timeoutTask
            state.timeoutTask = nil
            return (connection, resolution, timeoutTask)
        }
        // A batch timer still armed finds its generation gone and does nothing.
        timeoutTask?.cancel()
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

    /// The machine decided to reconnect (it schedules one at a time).
    private func scheduleReconnect(after delay: TimeAmount, assignedBrokerURL: String?) {
        eventLoop.scheduleTask(in: delay) {
            Task { await self.reconnect(assignedBrokerURL: assignedBrokerURL) }
        }
    }

    private func reconnect(assignedBrokerURL: String?) async {
        do {
            try await establish(assignedBrokerURL: assignedBrokerURL)
        } catch {
            let action = state.withLockedValue { $0.machine.creationFailed(error, jitter: Double.random(in: 0...1)) }
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
        guard !resolution.isEmpty else { return }
        for (entry, data) in resolution.succeeded {
            switch entry.completions {
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
        for sender in resolution.resumeSenders { sender.resume(returning: .success(())) }
        for flusher in resolution.resumeFlushers { flusher.resume(returning: .success(())) }
    }

    private static func publishTime() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return UInt64(max(0, Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000))
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
