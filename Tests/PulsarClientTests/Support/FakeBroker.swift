import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
@testable import PulsarClient

/// The test side of an `EmbeddedChannel` running `PulsarChannelHandler`: reads what the client
/// wrote as frames and writes broker frames inbound.
final class FakeBroker {
    let channel: EmbeddedChannel
    let router: ConnectionRouter
    let handshake: EventLoopFuture<ConnectionStateMachine.ConnectedInfo>
    private var decoder = PulsarFrameDecoder()
    private var outbound = ByteBuffer()

    init(authentication: PulsarAuthentication? = nil, keepAlive: TimeAmount? = nil, handshakeTimeout: TimeAmount = .seconds(30)) throws {
        channel = EmbeddedChannel()
        router = ConnectionRouter(eventLoop: channel.eventLoop)
        let promise = channel.eventLoop.makePromise(of: ConnectionStateMachine.ConnectedInfo.self)
        handshake = promise.futureResult
        let handler = PulsarChannelHandler(
            configuration: .init(authentication: authentication, proxyToBrokerURL: nil, handshakeTimeout: handshakeTimeout, keepAliveInterval: keepAlive),
            router: router, handshakePromise: promise, logger: Logger(label: "test"))
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6650)).wait()
    }

    /// Next frame the client wrote, if any.
    func readFrame() throws -> PulsarFrame? {
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            var copy = buffer
            outbound.writeBuffer(&copy)
        }
        return try decoder.decode(buffer: &outbound)
    }

    func send(_ command: Pulsar_Proto_BaseCommand) throws {
        try channel.writeInbound(FrameFixtures.simpleFrame(command))
    }

    func sendBytes(_ bytes: ByteBuffer) throws {
        try channel.writeInbound(bytes)
    }

    /// CONNECT → CONNECTED.
    func completeHandshake(maxMessageSize: Int32? = nil) throws {
        let connect = try readFrame()
        precondition(connect?.command.type == .connect)
        try send(FrameFixtures.connected(maxMessageSize: maxMessageSize))
    }
}

/// Records what the router hands to a producer.
final class RecordingProducerHandler: PulsarProducerEventHandler {
    enum Event: Equatable {
        case receipt(UInt64)
        case sendError(UInt64)
        case closeProducer
        case connectionClosed(PulsarClientError.Code)
    }
    let events = NIOLockedValueBox<[Event]>([])

    func handleSendReceipt(_ command: Pulsar_Proto_CommandSendReceipt) { events.withLockedValue { $0.append(.receipt(command.sequenceID)) } }
    func handleSendError(_ command: Pulsar_Proto_CommandSendError) { events.withLockedValue { $0.append(.sendError(command.sequenceID)) } }
    func handleCloseProducer(_ command: Pulsar_Proto_CommandCloseProducer) { events.withLockedValue { $0.append(.closeProducer) } }
    func handleConnectionClosed(_ error: PulsarClientError) { events.withLockedValue { $0.append(.connectionClosed(error.code)) } }
}

/// Records what the router hands to a consumer.
final class RecordingConsumerHandler: PulsarConsumerEventHandler {
    enum Event: Equatable {
        case message(entry: UInt64, payload: String?)
        case closeConsumer
        case active(Bool)
        case endOfTopic
        case connectionClosed(PulsarClientError.Code)
    }
    let events = NIOLockedValueBox<[Event]>([])

    func handleMessage(_ command: Pulsar_Proto_CommandMessage, payload: PulsarFramePayload?) {
        events.withLockedValue { $0.append(.message(entry: command.messageID.entryID, payload: payload.map { String(buffer: $0.body) })) }
    }
    func handleCloseConsumer(_ command: Pulsar_Proto_CommandCloseConsumer) { events.withLockedValue { $0.append(.closeConsumer) } }
    func handleActiveConsumerChange(_ command: Pulsar_Proto_CommandActiveConsumerChange) { events.withLockedValue { $0.append(.active(command.isActive)) } }
    func handleReachedEndOfTopic(_ command: Pulsar_Proto_CommandReachedEndOfTopic) { events.withLockedValue { $0.append(.endOfTopic) } }
    func handleConnectionClosed(_ error: PulsarClientError) { events.withLockedValue { $0.append(.connectionClosed(error.code)) } }
}

extension EventLoopFuture {
    /// The result if the future already completed (EmbeddedEventLoop runs everything inline).
    var currentResult: Result<Value, any Error>? {
        let box = NIOLockedValueBox<Result<Value, any Error>?>(nil)
        self.whenComplete { result in box.withLockedValue { $0 = result } }
        return box.withLockedValue { $0 }
    }
}
