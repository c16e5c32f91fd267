import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing
@testable import PulsarClient

@Suite struct PulsarChannelHandlerTests {
    @Test func connectCarriesTokenAndVersion() throws {
        let broker = try FakeBroker(authentication: .token({ "secret-token" }))
        let frame = try #require(try broker.readFrame())
        #expect(frame.command.type == .connect)
        let connect = frame.command.connect
        #expect(connect.clientVersion.hasPrefix("outbox-relay-swift/"))
        #expect(connect.protocolVersion == 20)
        #expect(connect.authMethodName == "token")
        #expect(Array(connect.authData) == Array("secret-token".utf8))
        #expect(connect.featureFlags.supportsAuthRefresh)
        #expect(!connect.hasProxyToBrokerURL)
    }

    @Test func connectWithoutAuthentication() throws {
        let broker = try FakeBroker()
        let connect = try #require(try broker.readFrame()).command.connect
        #expect(!connect.hasAuthMethodName)
        #expect(!connect.hasAuthData)
    }

    @Test func connectedCompletesTheHandshake() throws {
        let broker = try FakeBroker()
        try broker.completeHandshake(maxMessageSize: 2_000_000)
        let info = try broker.handshake.currentResult?.get()
        #expect(info?.maxMessageSize == 2_000_000)
        #expect(broker.channel.isActive)
    }

    @Test func brokerErrorFailsTheHandshakeAndCloses() throws {
        let broker = try FakeBroker(authentication: .token({ "bad" }))
        _ = try broker.readFrame()
        try broker.send(FrameFixtures.error(requestID: 0, .authenticationError, "invalid token"))
        guard case .failure(let error as PulsarClientError)? = broker.handshake.currentResult else {
            Issue.record("handshake must fail")
            return
        }
        #expect(error.code == .authenticationFailed)
        #expect(!broker.channel.isActive)
    }

    @Test func handshakeTimesOut() throws {
        let broker = try FakeBroker(handshakeTimeout: .seconds(5))
        _ = try broker.readFrame()
        broker.channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        guard case .failure(let error as PulsarClientError)? = broker.handshake.currentResult else {
            Issue.record("handshake must time out")
            return
        }
        #expect(error.code == .handshakeFailed)
        #expect(!broker.channel.isActive)
    }

    @Test func authChallengeIsAnsweredWithAFreshToken() throws {
        let counter = NIOLockedValueBox(0)
        let broker = try FakeBroker(authentication: .token({
            counter.withLockedValue { $0 += 1; return "token-\($0)" }
        }))
        try broker.completeHandshake()
        try broker.send(FrameFixtures.authChallenge())
        let response = try #require(try broker.readFrame())
        #expect(response.command.type == .authResponse)
        #expect(response.command.authResponse.response.authMethodName == "token")
        #expect(Array(response.command.authResponse.response.authData) == Array("token-2".utf8))
        #expect(response.command.authResponse.protocolVersion == 20)
    }

    @Test func brokerPingIsAnsweredWithPong() throws {
        let broker = try FakeBroker()
        try broker.completeHandshake()
        try broker.send(PulsarCommands.ping())
        #expect(try broker.readFrame()?.command.type == .pong)
    }

    @Test func clientPingsAndClosesASilentConnection() throws {
        let broker = try FakeBroker(keepAlive: .seconds(30))
        try broker.completeHandshake()
        broker.channel.embeddedEventLoop.advanceTime(by: .seconds(30))
        #expect(try broker.readFrame()?.command.type == .ping)
        try broker.send(PulsarCommands.pong())
        broker.channel.embeddedEventLoop.advanceTime(by: .seconds(30))
        #expect(try broker.readFrame()?.command.type == .ping)
        #expect(broker.channel.isActive)
        // No answer for two intervals: the client gives up on the connection.
        broker.channel.embeddedEventLoop.advanceTime(by: .seconds(30))
        #expect(!broker.channel.isActive)
        #expect(broker.router.closedError?.code == .timeout)
    }

    @Test func requestsAreMatchedByRequestID() throws {
        let broker = try FakeBroker()
        try broker.completeHandshake()
        let ok = broker.router.addRequest(5, timeout: nil)
        let refused = broker.router.addRequest(6, timeout: nil)
        var success = Pulsar_Proto_BaseCommand()
        success.type = .success
        success.success.requestID = 5
        try broker.send(success)
        try broker.send(FrameFixtures.error(requestID: 6, .topicNotFound, "nope"))
        #expect(try ok.currentResult?.get().type == .success)
        guard case .failure(let error as PulsarClientError)? = refused.currentResult else {
            Issue.record("ERROR must fail the request")
            return
        }
        #expect(error.code == .topicNotFound)
        #expect(error.serverError == .topicNotFound)
    }

    @Test func requestTimesOut() throws {
        let broker = try FakeBroker()
        try broker.completeHandshake()
        let request = broker.router.addRequest(1, timeout: .seconds(3))
        broker.channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(request.currentResult == nil)
        broker.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        guard case .failure(let error as PulsarClientError)? = request.currentResult else {
            Issue.record("request must time out")
            return
        }
        #expect(error.code == .timeout)
        // A late answer is dropped quietly.
        try broker.send(FrameFixtures.producerSuccess(requestID: 1, name: "late"))
        #expect(broker.channel.isActive)
    }

    @Test func producerCommandsAreRoutedByProducerID() throws {
        let broker = try FakeBroker()
        try broker.completeHandshake()
        let producer = RecordingProducerHandler()
        let other = RecordingProducerHandler()
        #expect(broker.router.registerProducer(1, handler: producer))
        #expect(broker.router.registerProducer(2, handler: other))
        try broker.send(FrameFixtures.receipt(producerID: 1, sequenceID: 0, entry: 0))
        try broker.send(FrameFixtures.sendError(producerID: 1, sequenceID: 1, .persistenceError))
        try broker.send(FrameFixtures.receipt(producerID: 2, sequenceID: 9, entry: 1))
        try broker.send(FrameFixtures.closeProducer(producerID: 1))
        try broker.send(FrameFixtures.receipt(producerID: 1, sequenceID: 2, entry: 2))  // after CLOSE_PRODUCER: unregistered
        #expect(producer.events.withLockedValue { $0 } == [.receipt(0), .sendError(1), .closeProducer])
        #expect(other.events.withLockedValue { $0 } == [.receipt(9)])
        #expect(broker.channel.isActive)  // CLOSE_PRODUCER leaves the TCP connection open
    }

    @Test func consumerCommandsAreRoutedByConsumerID() throws {
        let broker = try FakeBroker()
        try broker.completeHandshake()
        let consumer = RecordingConsumerHandler()
        #expect(broker.router.registerConsumer(3, handler: consumer))
        var message = Pulsar_Proto_BaseCommand()
        message.type = .message
        message.message.consumerID = 3
        message.message.messageID.ledgerID = 1
        message.message.messageID.entryID = 17
        var bytes = ByteBuffer()
        try PulsarFrameEncoder.writePayloadCommand(message, metadata: FrameFixtures.metadata(), payload: ByteBuffer(string: "body"), into: &bytes)
        try broker.sendBytes(bytes)
        var active = Pulsar_Proto_BaseCommand()
        active.type = .activeConsumerChange
        active.activeConsumerChange.consumerID = 3
        active.activeConsumerChange.isActive = true
        try broker.send(active)
        var end = Pulsar_Proto_BaseCommand()
        end.type = .reachedEndOfTopic
        end.reachedEndOfTopic.consumerID = 3
        try broker.send(end)
        try broker.send(PulsarCommands.closeConsumer(consumerID: 3, requestID: 0))
        #expect(consumer.events.withLockedValue { $0 } == [.message(entry: 17, payload: "body"), .active(true), .endOfTopic, .closeConsumer])
    }

    @Test func connectionLossFailsRequestsAndNotifiesEveryoneOnce() throws {
        let broker = try FakeBroker()
        try broker.completeHandshake()
        let producer = RecordingProducerHandler()
        let consumer = RecordingConsumerHandler()
        _ = broker.router.registerProducer(1, handler: producer)
        _ = broker.router.registerConsumer(1, handler: consumer)
        let request = broker.router.addRequest(4, timeout: nil)
        try broker.channel.close().wait()
        #expect(producer.events.withLockedValue { $0 } == [.connectionClosed(.connectionClosed)])
        #expect(consumer.events.withLockedValue { $0 } == [.connectionClosed(.connectionClosed)])
        guard case .failure(let error as PulsarClientError)? = request.currentResult else {
            Issue.record("pending request must fail")
            return
        }
        #expect(error.code == .connectionClosed)
        // Registering on a dead connection is refused.
        #expect(!broker.router.registerProducer(2, handler: RecordingProducerHandler()))
        #expect(broker.router.addRequest(5, timeout: nil).currentResult.map { (try? $0.get()) == nil } == true)
    }

    @Test func corruptFrameClosesTheConnectionWithATypedError() throws {
        let broker = try FakeBroker()
        try broker.completeHandshake()
        let producer = RecordingProducerHandler()
        _ = broker.router.registerProducer(1, handler: producer)
        var bytes = FrameFixtures.payloadFrame(payload: Array("payload".utf8))
        bytes.setInteger(UInt8(0), at: bytes.writerIndex - 1)  // breaks the CRC
        try? broker.sendBytes(bytes)
        #expect(!broker.channel.isActive)
        let error = try #require(broker.router.closedError)
        #expect(error.code == .protocolError)
        #expect((error.underlying as? PulsarFrameError)?.code == .badChecksum)
        #expect(producer.events.withLockedValue { $0 } == [.connectionClosed(.protocolError)])
    }

    @Test func framesSplitAcrossReadsAreReassembled() throws {
        let broker = try FakeBroker()
        try broker.completeHandshake()
        let producer = RecordingProducerHandler()
        _ = broker.router.registerProducer(1, handler: producer)
        var all = ByteBuffer()
        for seq in 0..<5 {
            var frame = FrameFixtures.simpleFrame(FrameFixtures.receipt(producerID: 1, sequenceID: UInt64(seq), entry: UInt64(seq)))
            all.writeBuffer(&frame)
        }
        while all.readableBytes > 0 {
            let chunk = all.readSlice(length: min(7, all.readableBytes)) ?? ByteBuffer()
            try broker.sendBytes(chunk)
        }
        #expect(producer.events.withLockedValue { $0 } == (0..<5).map { .receipt(UInt64($0)) })
    }

    @Test func oversizedFrameAfterSmallerBrokerLimit() throws {
        let broker = try FakeBroker()
        try broker.completeHandshake(maxMessageSize: 1024)
        var header = ByteBuffer()
        header.writeInteger(UInt32(1024 + PulsarFrameConstants.framePadding + 1))
        try? broker.sendBytes(header)
        #expect(!broker.channel.isActive)
        #expect((broker.router.closedError?.underlying as? PulsarFrameError)?.code == .oversized)
    }
}
