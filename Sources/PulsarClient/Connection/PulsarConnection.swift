import Synchronization
import Logging
import NIOCore

/// One established, handshaken connection to a broker, shared by every producer and consumer whose
/// topic that broker serves. Thread-safe; see `PulsarConsumerEventHandler` for how to plug in.
final class PulsarConnection: Sendable {
    let channel: any Channel
    let router: ConnectionRouter
    /// The broker this connection speaks for (differs from the TCP peer when going through a proxy).
    let logicalAddress: BrokerAddress
    let physicalAddress: BrokerAddress
    let info: ConnectionStateMachine.ConnectedInfo
    private let requestIDs = Atomic<UInt64>(0)

    init(channel: any Channel, router: ConnectionRouter, logicalAddress: BrokerAddress, physicalAddress: BrokerAddress, info: ConnectionStateMachine.ConnectedInfo) {
        self.channel = channel
        self.router = router
        self.logicalAddress = logicalAddress
        self.physicalAddress = physicalAddress
        self.info = info
    }

    var eventLoop: any EventLoop { channel.eventLoop }
    var maxMessageSize: Int { info.maxMessageSize }
    /// False once the connection failed or was closed; a new one must be taken from the pool.
    var isActive: Bool { channel.isActive && router.closedError == nil }
    var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    func nextRequestID() -> UInt64 {
        requestIDs.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    // MARK: registration

    /// Routes MESSAGE / CLOSE_CONSUMER / ACTIVE_CONSUMER_CHANGE / REACHED_END_OF_TOPIC for `consumerID`
    /// to `handler`. Throws `connectionClosed` if the connection is already gone.
    func registerConsumer(_ consumerID: UInt64, handler: any PulsarConsumerEventHandler) throws(PulsarClientError) {
        guard router.registerConsumer(consumerID, handler: handler) else {
            throw router.closedError ?? .connectionClosed()
        }
    }

    func unregisterConsumer(_ consumerID: UInt64) { router.unregisterConsumer(consumerID) }

    func registerProducer(_ producerID: UInt64, handler: any PulsarProducerEventHandler) throws(PulsarClientError) {
        guard router.registerProducer(producerID, handler: handler) else {
            throw router.closedError ?? .connectionClosed()
        }
    }

    func unregisterProducer(_ producerID: UInt64) { router.unregisterProducer(producerID) }

    // MARK: requests and writes

    /// Sends a command carrying `requestID` and waits for the answer with the same request id
    /// (SUCCESS, PRODUCER_SUCCESS, LOOKUP_RESPONSE, ...). A broker ERROR throws `PulsarClientError`
    /// with `serverError` set; no answer within `timeout` throws `.timeout`.
    func request(_ command: Pulsar_Proto_BaseCommand, requestID: UInt64, timeout: Duration?) async throws(PulsarClientError) -> Pulsar_Proto_BaseCommand {
        let future = router.addRequest(requestID, timeout: timeout.map { TimeAmount($0) })
        do {
            try self.send(command)
        } catch {
            router.failRequest(requestID, error)
        }
        do {
            return try await future.get()
        } catch let error as PulsarClientError {
            throw error
        } catch {
            throw PulsarClientError(code: .connectionClosed, message: "request \(requestID) failed", underlying: error)
        }
    }

    /// Writes and flushes a command without waiting for an answer (FLOW, ACK, PING...).
    func send(_ command: Pulsar_Proto_BaseCommand) throws(PulsarClientError) {
        var buffer = channel.allocator.buffer(capacity: 64)
        do {
            try PulsarFrameEncoder.writeCommand(command, into: &buffer)
        } catch {
            throw PulsarClientError(code: .invalidMessage, message: "cannot encode \(command.type)", underlying: error)
        }
        channel.writeAndFlush(buffer, promise: nil)
    }

    /// Writes already-encoded frames and flushes once (must be called on `eventLoop` to keep order
    /// with other writers; from elsewhere it still works but hops per call).
    func writeFrames<Frames: Sequence>(_ frames: Frames) where Frames.Element == ByteBuffer {
        for frame in frames { channel.write(frame, promise: nil) }
        channel.flush()
    }

    /// Closes the TCP connection; everything registered is told through `handleConnectionClosed`.
    func close(error: PulsarClientError? = nil) {
        channel.pipeline.fireUserInboundEventTriggered(PulsarChannelHandler.CloseRequest(error: error))
    }
}
