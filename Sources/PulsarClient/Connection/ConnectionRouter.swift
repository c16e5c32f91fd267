import Synchronization
import NIOCore

/// Routes inbound commands of one connection: responses to their pending request (by request_id),
/// producer and consumer commands to their registered handler (by producer_id / consumer_id).
///
/// Shared between the channel handler (event loop) and callers on any thread, hence the lock.
final class ConnectionRouter: Sendable {
    private struct PendingRequest {
        var promise: EventLoopPromise<Pulsar_Proto_BaseCommand>
        var timeout: Scheduled<Void>?
    }

    private struct State {
        var requests: [UInt64: PendingRequest] = [:]
        var producers: [UInt64: any PulsarProducerEventHandler] = [:]
        var consumers: [UInt64: any PulsarConsumerEventHandler] = [:]
        var closedError: PulsarClientError?
    }

    private let state = Mutex(State())
    let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    var closedError: PulsarClientError? { state.withLock { $0.closedError } }

    /// Registers a handler; returns false (and registers nothing) when the connection already closed.
    func registerProducer(_ id: UInt64, handler: any PulsarProducerEventHandler) -> Bool {
        state.withLock { state in
            guard state.closedError == nil else { return false }
            state.producers[id] = handler
            return true
        }
    }

    func unregisterProducer(_ id: UInt64) {
        _ = state.withLock { $0.producers.removeValue(forKey: id) }
    }

    func registerConsumer(_ id: UInt64, handler: any PulsarConsumerEventHandler) -> Bool {
        state.withLock { state in
            guard state.closedError == nil else { return false }
            state.consumers[id] = handler
            return true
        }
    }

    func unregisterConsumer(_ id: UInt64) {
        _ = state.withLock { $0.consumers.removeValue(forKey: id) }
    }

    /// Registers a request; the future fails on ERROR, timeout or connection loss.
    func addRequest(_ requestID: UInt64, timeout: TimeAmount?) -> EventLoopFuture<Pulsar_Proto_BaseCommand> {
        let promise = eventLoop.makePromise(of: Pulsar_Proto_BaseCommand.self)
        let closed: PulsarClientError? = state.withLock { state in
            if let error = state.closedError { return error }
            state.requests[requestID] = PendingRequest(promise: promise, timeout: nil)
            return nil
        }
        if let closed {
            promise.fail(closed)
            return promise.futureResult
        }
        if let timeout {
            let scheduled = eventLoop.scheduleTask(in: timeout) { [weak self] () -> Void in
                guard let self else { return }
                self.failRequest(requestID, .timeout("no response to request \(requestID) within \(timeout.nanoseconds / 1_000_000) ms"))
            }
            let stillPending = state.withLock { state -> Bool in
                guard state.requests[requestID] != nil else { return false }
                state.requests[requestID]?.timeout = scheduled
                return true
            }
            if !stillPending { scheduled.cancel() }
        }
        return promise.futureResult
    }

    func failRequest(_ requestID: UInt64, _ error: PulsarClientError) {
        let pending = state.withLock { $0.requests.removeValue(forKey: requestID) }
        pending?.timeout?.cancel()
        pending?.promise.fail(error)
    }

    private func completeRequest(_ requestID: UInt64, with result: Result<Pulsar_Proto_BaseCommand, PulsarClientError>) {
        let pending = state.withLock { $0.requests.removeValue(forKey: requestID) }
        guard let pending else { return }  // late answer after a timeout: nothing waits for it
        pending.timeout?.cancel()
        pending.promise.completeWith(result.mapError { $0 as any Error })
    }

    /// Dispatches one inbound command (called on the event loop, after the handshake).
    /// Returns an error when the frame violates the protocol badly enough to drop the connection.
    func route(_ frame: PulsarFrame) -> PulsarClientError? {
        let command = frame.command
        switch command.type {
        case .sendReceipt:
            let receipt = command.sendReceipt
            producer(receipt.producerID)?.handleSendReceipt(receipt)
        case .sendError:
            let error = command.sendError
            producer(error.producerID)?.handleSendError(error)
        case .closeProducer:
            let close = command.closeProducer
            let handler = state.withLock { $0.producers.removeValue(forKey: close.producerID) }
            handler?.handleCloseProducer(close)
        case .message:
            let message = command.message
            consumer(message.consumerID)?.handleMessage(message, payload: frame.payload)
        case .closeConsumer:
            let close = command.closeConsumer
            let handler = state.withLock { $0.consumers.removeValue(forKey: close.consumerID) }
            handler?.handleCloseConsumer(close)
        case .activeConsumerChange:
            let change = command.activeConsumerChange
            consumer(change.consumerID)?.handleActiveConsumerChange(change)
        case .reachedEndOfTopic:
            let end = command.reachedEndOfTopic
            consumer(end.consumerID)?.handleReachedEndOfTopic(end)
        case .success:
            completeRequest(command.success.requestID, with: .success(command))
        case .producerSuccess:
            completeRequest(command.producerSuccess.requestID, with: .success(command))
        case .lookupResponse:
            completeRequest(command.lookupTopicResponse.requestID, with: .success(command))
        case .partitionedMetadataResponse:
            completeRequest(command.partitionMetadataResponse.requestID, with: .success(command))
        case .getLastMessageIDResponse:
            completeRequest(command.getLastMessageIDResponse.requestID, with: .success(command))
        case .ackResponse:
            if command.ackResponse.hasRequestID {
                completeRequest(command.ackResponse.requestID, with: .success(command))
            }
        case .error:
            let error = command.error
            completeRequest(error.requestID, with: .failure(.server(error.error, message: error.message)))
        default:
            // Commands we never asked for (transactions, schema, topic watch...) are harmless to drop.
            break
        }
        return nil
    }

    private func producer(_ id: UInt64) -> (any PulsarProducerEventHandler)? {
        state.withLock { $0.producers[id] }
    }

    private func consumer(_ id: UInt64) -> (any PulsarConsumerEventHandler)? {
        state.withLock { $0.consumers[id] }
    }

    /// The connection is gone: fail all requests and tell every producer and consumer, once.
    func close(_ error: PulsarClientError) {
        let (requests, producers, consumers) = state.withLock { state -> ([PendingRequest], [any PulsarProducerEventHandler], [any PulsarConsumerEventHandler]) in
            guard state.closedError == nil else { return ([], [], []) }
            state.closedError = error
            defer { state.requests = [:]; state.producers = [:]; state.consumers = [:] }
            return (Array(state.requests.values), Array(state.producers.values), Array(state.consumers.values))
        }
        for request in requests {
            request.timeout?.cancel()
            request.promise.fail(error)
        }
        for producer in producers { producer.handleConnectionClosed(error) }
        for consumer in consumers { consumer.handleConnectionClosed(error) }
    }
}
