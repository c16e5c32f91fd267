import Logging
import Synchronization
import NIOCore

/// A subscription on one topic. Iterate it (`for try await message in consumer`) to receive;
/// acknowledge what you processed. Survives broker restarts and unloads: it reconnects,
/// re-subscribes and the broker redelivers everything not acknowledged.
///
/// An undecodable message (unsupported or corrupt compression, malformed batch) makes `next()`
/// throw a `PulsarConsumerError` carrying its message id; calling `next()` again continues with the
/// following message, and acknowledging that id drops the bad message for good.
public final class PulsarConsumer: AsyncSequence, Sendable {
    public typealias Element = PulsarMessage

    public let topic: String
    public let subscription: String
    public let options: ConsumerOptions
    let consumerID: UInt64
    private let client: PulsarClient
    private let logger: Logger
    private let inner: Mutex<Inner>

    private struct Inner {
        var machine: ConsumerStateMachine
        var connection: PulsarConnection?
        var reader: CheckedContinuation<PulsarMessage?, any Error>?
        var reconnecting = false
        /// Where the broker said the topic moved (CLOSE_CONSUMER), tried once before a lookup.
        var assignedBrokerURL: String?
    }

    init(client: PulsarClient, topic: String, subscription: String, options: ConsumerOptions, consumerID: UInt64, logger: Logger) {
        self.client = client
        self.topic = topic
        self.subscription = subscription
        self.options = options
        self.consumerID = consumerID
        self.logger = logger
        self.inner = Mutex(Inner(machine: ConsumerStateMachine(topic: topic, options: options)))
    }

    // MARK: public API

    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: PulsarConsumer
        public mutating func next() async throws -> PulsarMessage? { try await consumer.receive() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(consumer: self) }

    /// Whether a task is parked in `receive()` (for tests that must act only once it waits).
    var isReaderWaiting: Bool { inner.withLock { $0.reader != nil } }

    /// The next message; nil once the consumer is closed. Throws `PulsarConsumerError` for one
    /// undecodable message (see the type's documentation) and the terminal error when the
    /// consumer was closed for good by a failure.
    public func receive() async throws -> PulsarMessage? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<PulsarMessage?, any Error>) in
                // Decide under the lock; resume and write outside it.
                enum Outcome {
                    case resume(Result<PulsarMessage?, any Error>, flow: UInt32?, connection: PulsarConnection?)
                    /// The machine now owns the continuation; a later event resumes it.
                    case parked
                }
                let outcome: Outcome = inner.withLock { inner in
                    if inner.reader != nil {
                        let error = PulsarConsumerError(code: .concurrentReceive, detail: "another task is already waiting for a message")
                        return .resume(.failure(error), flow: nil, connection: nil)
                    }
                    if Task.isCancelled { return .resume(.failure(CancellationError()), flow: nil, connection: nil) }
                    switch inner.machine.next() {
                    case .deliver(let delivery, let flow):
                        return .resume(delivery.map(Optional.some).mapError { $0 as any Error }, flow: flow, connection: inner.connection)
                    case .finish(nil):
                        return .resume(.success(nil), flow: nil, connection: nil)
                    case .finish(let error?):
                        return .resume(.failure(error.error), flow: nil, connection: nil)
                    case .wait:
                        inner.reader = continuation
                        return .parked
                    }
                }
                guard case .resume(let result, let flow, let connection) = outcome else { return }
                if let flow {
                    try? connection?.send(PulsarCommands.flow(consumerID: consumerID, permits: flow))
                }
                continuation.resume(with: result)
            }
        } onCancel: {
            let reader = inner.withLock { inner -> CheckedContinuation<PulsarMessage?, any Error>? in
                guard let reader = inner.reader else { return nil }
                inner.reader = nil
                inner.machine.readerCancelled()
                return reader
            }
            reader?.resume(throwing: CancellationError())
        }
    }

    /// Acknowledges one message. For an item of a batch, the broker is told once every item of
    /// the batch is acknowledged.
    public func acknowledge(_ id: PulsarMessageID) async throws {
        try performThrowing { inner throws(PulsarConsumerError) in try inner.machine.acknowledge(id) }
    }

    /// Acknowledges this message and every earlier one (Exclusive and Failover subscriptions only).
    public func acknowledgeCumulative(_ id: PulsarMessageID) async throws {
        try performThrowing { inner throws(PulsarConsumerError) in try inner.machine.acknowledgeCumulative(id) }
    }

    public func acknowledge(_ message: PulsarMessage) async throws { try await acknowledge(message.id) }

    /// Closes the consumer on the broker (unacknowledged messages go to other consumers or wait
    /// for the next subscription) and ends iteration.
    public func close() async throws {
        let connection = inner.withLock { $0.connection }
        let actions = perform { $0.machine.closeRequested(requestID: connection?.nextRequestID() ?? 0) }
        for action in actions {
            guard case .sendCloseConsumer(let requestID) = action, let connection else { continue }
            do {
                _ = try await connection.request(
                    PulsarCommands.closeConsumer(consumerID: consumerID, requestID: requestID),
                    requestID: requestID,
                    timeout: client.configuration.operationTimeout
                )
            } catch {
                // The broker forgets the consumer with the connection anyway.
                logger.debug("close consumer: \(error)")
            }
            connection.unregisterConsumer(consumerID)
            perform { $0.machine.closeAnswered(requestID: requestID) }
        }
    }

    // MARK: subscription

    /// First subscription: errors go to the caller of `subscribe`.
    func start() async throws {
        let connection = try await client.connection(forTopic: topic)
        try await subscribe(on: connection, resubscribe: false)
    }

    func subscribe(on connection: PulsarConnection, resubscribe: Bool) async throws {
        try connection.registerConsumer(consumerID, handler: self)
        let requestID = connection.nextRequestID()
        let actions = perform { inner in
            inner.connection = connection
            return inner.machine.subscribeRequested(requestID: requestID)
        }
        guard actions.contains(.sendSubscribe(requestID: requestID)) else {
            connection.unregisterConsumer(consumerID)
            throw PulsarConsumerError(code: .consumerClosed, detail: "the consumer was closed while subscribing")
        }
        do {
            _ = try await connection.request(subscribeCommand(requestID: requestID), requestID: requestID, timeout: client.configuration.operationTimeout)
        } catch {
            connection.unregisterConsumer(consumerID)
            if error.code == .timeout {
                // The broker may still create the consumer; drop it so the retry on this
                // connection is not refused as a duplicate consumer id.
                try? connection.send(PulsarCommands.closeConsumer(consumerID: consumerID, requestID: connection.nextRequestID()))
            }
            // A retryable failure leaves the machine disconnected; the caller's loop retries.
            perform { $0.machine.subscribeFailed(requestID: requestID, error: PulsarClientErrorBox(error), retry: Self.isRetryable(error)) }
            throw error
        }
        perform { $0.machine.subscribeSucceeded(requestID: requestID) }
        logger.debug("subscribed", metadata: ["topic": "\(topic)", "subscription": "\(subscription)", "resubscribe": "\(resubscribe)"])
    }

    private func subscribeCommand(requestID: UInt64) -> Pulsar_Proto_BaseCommand {
        var subscribe = Pulsar_Proto_CommandSubscribe()
        subscribe.topic = topic
        subscribe.subscription = subscription
        subscribe.subType = options.subscriptionType.wireValue
        subscribe.consumerID = consumerID
        subscribe.requestID = requestID
        subscribe.initialPosition = options.initialPosition.wireValue
        if let name = options.consumerName { subscribe.consumerName = name }
        return PulsarCommands.subscribe(subscribe)
    }

    /// Re-subscribes with exponential backoff until it works, the consumer is closed, or the
    /// broker refuses for good.
    private func reconnectLoop() async {
        var delay = client.configuration.initialBackoff
        while true {
            // Only a disconnected consumer needs a new subscription. Clearing the flag in the same
            // critical section means a disconnect right after this check starts a new loop.
            let proceed = inner.withLock { inner -> Bool in
                if inner.machine.state == .disconnected { return true }
                inner.reconnecting = false
                return false
            }
            guard proceed else { return }
            // Always wait a little first: a broker that accepts the subscription and then drops
            // the connection at once must not turn this into a busy loop.
            try? await Task.sleep(for: delay)
            delay = Swift.min(delay * 2, client.configuration.maxBackoff)
            do {
                let assigned = inner.withLock { inner in
                    defer { inner.assignedBrokerURL = nil }
                    return inner.assignedBrokerURL
                }
                // A shut-down client ends the consumer instead of retrying forever.
                try client.checkOpen()
                let connection = try await client.connection(forTopic: topic, assignedBrokerURL: assigned)
                try await subscribe(on: connection, resubscribe: true)
            } catch {
                if !Self.isRetryable(error) {
                    perform { $0.machine.state == .disconnected ? $0.machine.reconnectFailed(error: PulsarClientErrorBox(error)) : [] }
                    continue
                }
                logger.debug("re-subscribe failed, retrying in \(delay): \(error)")
            }
        }
    }

    static func isRetryable(_ error: any Error) -> Bool {
        if let error = error as? PulsarClientError {
            switch error.code {
            case .clientClosed, .notAllowed, .authenticationFailed, .topicTerminated, .invalidConfiguration, .invalidServiceURL:
                return false
            case .serverError:
                switch error.serverError {
                case .consumerBusy?, .subscriptionNotFound?, .invalidTopicName?, .consumerAssignError?: return false
                default: return true
                }
            default:
                return true
            }
        }
        if error is PulsarConsumerError { return false }
        return true
    }

    // MARK: running actions

    private typealias Reader = CheckedContinuation<PulsarMessage?, any Error>

    /// Feeds one event to the machine under the lock, then runs the resulting actions outside it.
    /// The waiting reader is taken in the same critical section as the event that resumes it, so
    /// a concurrent cancellation can never lose a message.
    @discardableResult
    private func perform(_ event: (inout Inner) -> [ConsumerStateMachine.Action]) -> [ConsumerStateMachine.Action] {
        let (actions, connection, reader) = inner.withLock { inner in
            let actions = event(&inner)
            var reader: Reader?
            if actions.contains(where: \.involvesReader) {
                reader = inner.reader
                inner.reader = nil
            }
            return (actions, inner.connection, reader)
        }
        run(actions, on: connection, reader: reader)
        return actions
    }

    /// `perform` for events the application can get wrong (acknowledgements).
    private func performThrowing(
        _ event: (inout Inner) throws(PulsarConsumerError) -> [ConsumerStateMachine.Action]
    ) throws(PulsarConsumerError) {
        var failure: PulsarConsumerError?
        perform { inner in
            do throws(PulsarConsumerError) {
                return try event(&inner)
            } catch {
                failure = error
                return []
            }
        }
        if let failure { throw failure }
    }

    /// Runs what the machine asked for. Must be called outside the lock.
    private func run(_ actions: [ConsumerStateMachine.Action], on connection: PulsarConnection?, reader: Reader? = nil) {
        for action in actions {
            switch action {
            case .sendFlow(let permits):
                try? connection?.send(PulsarCommands.flow(consumerID: consumerID, permits: permits))
            case .sendAck(let ack):
                sendAck(ack, on: connection)
            case .sendRedeliver(let positions):
                try? connection?.send(PulsarCommands.redeliverUnacknowledged(consumerID: consumerID, messageIDs: positions.map(Self.messageIDData)))
            case .resumeReader(let delivery):
                reader?.resume(with: delivery.map(Optional.some).mapError { $0 as any Error })
            case .finishReader(let error):
                if let error { reader?.resume(throwing: error.error) } else { reader?.resume(returning: nil) }
            case .reconnect:
                let start = inner.withLock { inner in
                    defer { inner.reconnecting = true }
                    return !inner.reconnecting
                }
                if start { Task { await self.reconnectLoop() } }
            case .chunksDiscarded(let discard):
                logChunkDiscard(discard)
            case .sendSubscribe, .sendCloseConsumer, .subscribeSucceeded, .subscribeFailed, .closeCompleted:
                // Handled inline by `subscribe(on:)` and `close()`, which await the broker's answer.
                break
            }
        }
    }

    private func logChunkDiscard(_ discard: ChunkReassembler.Discard) {
        let metadata: Logger.Metadata = [
            "topic": "\(topic)", "uuid": "\(discard.uuid)", "reason": "\(discard.reason.rawValue)",
            "chunks": "\(discard.chunkIDs.map(\.description).joined(separator: ","))", "disposition": "\(discard.disposition)",
        ]
        if discard.disposition == .redeliver {
            logger.warning("chunked message dropped to stay within the reassembly limits, asked for again", metadata: metadata)
            return
        }
        switch discard.reason {
        case .expired, .tooManyPendingMessages, .tooManyPendingBytes, .messageTooLarge, .malformed:
            logger.error("chunked message dropped before it was complete", metadata: metadata)
        case .brokenSequence:
            logger.warning("chunks out of sequence, waiting for the broker to redeliver them", metadata: metadata)
        case .superseded, .duplicate:
            logger.debug("stale chunks skipped", metadata: metadata)
        }
    }

    private func sendAck(_ ack: ConsumerStateMachine.AckCommand, on connection: PulsarConnection?) {
        var command = Pulsar_Proto_CommandAck()
        command.consumerID = consumerID
        command.ackType = ack.kind == .cumulative ? .cumulative : .individual
        command.messageID = ack.positions.map(Self.messageIDData)
        do {
            guard let connection else { throw PulsarClientError(code: .connectionClosed, message: "not connected") }
            try connection.send(PulsarCommands.ack(command))
        } catch {
            inner.withLock { $0.machine.ackSendFailed(ack) }
        }
    }

    static func messageIDData(_ position: EntryPosition) -> Pulsar_Proto_MessageIdData {
        var data = Pulsar_Proto_MessageIdData()
        data.ledgerID = position.ledgerID
        data.entryID = position.entryID
        return data
    }
}

// MARK: connection events (called on the connection's event loop)

extension PulsarConsumer: PulsarConsumerEventHandler {
    func handleMessage(_ command: Pulsar_Proto_CommandMessage, payload: PulsarFramePayload?) {
        perform { inner in
            guard let payload else {
                // A MESSAGE without payload cannot be delivered; treat it like a corrupt one.
                return inner.machine.corruptMessageReceived(command: command)
            }
            return inner.machine.messageReceived(command: command, metadata: payload.metadata, body: payload.body, now: .now())
        }
    }

    func handleCloseConsumer(_ command: Pulsar_Proto_CommandCloseConsumer) {
        logger.info("broker closed the consumer; re-subscribing", metadata: ["topic": "\(topic)"])
        let useTLS = client.configuration.serviceURL.hasPrefix("pulsar+ssl://")
        let assigned = useTLS ? command.assignedBrokerServiceURLTls : command.assignedBrokerServiceURL
        if !assigned.isEmpty {
            inner.withLock { $0.assignedBrokerURL = assigned }
        }
        disconnect(PulsarClientError(code: .connectionClosed, message: "broker closed consumer \(consumerID) on \(topic)"))
    }

    func handleActiveConsumerChange(_ command: Pulsar_Proto_CommandActiveConsumerChange) {
        logger.debug("active consumer change", metadata: ["active": "\(command.isActive)"])
    }

    func handleReachedEndOfTopic(_ command: Pulsar_Proto_CommandReachedEndOfTopic) {
        logger.info("topic terminated, no more messages", metadata: ["topic": "\(topic)"])
    }

    func handleConnectionClosed(_ error: PulsarClientError) {
        disconnect(error)
    }

    private func disconnect(_ error: PulsarClientError) {
        perform { inner in
            // Keep the old connection out of reach before the reconnect task can install a new one.
            inner.connection = nil
            return inner.machine.disconnected(error: PulsarClientErrorBox(error))
        }
    }
}
