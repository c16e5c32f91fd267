import Logging
import NIOCore
import NIOEmbedded
import Testing
import TestSupport
@testable import PulsarClient

/// `PulsarConsumer` wired to a `PulsarConnection` over an `NIOAsyncTestingChannel`: the test plays
/// the broker, reading the frames the consumer writes and routing broker commands to it.
@Suite("Consumer against a fake broker")
struct ConsumerFakeBrokerTests {
    struct Harness {
        let channel: NIOAsyncTestingChannel
        let router: ConnectionRouter
        let connection: PulsarConnection
        let client: PulsarClient
        let consumer: PulsarConsumer

        init(options: ConsumerOptions = ConsumerOptions(subscriptionType: .shared)) {
            channel = NIOAsyncTestingChannel()
            router = ConnectionRouter(eventLoop: channel.eventLoop)
            let address = BrokerAddress(host: "fake-broker", port: 6650, useTLS: false)
            connection = PulsarConnection(
                channel: channel, router: router, logicalAddress: address, physicalAddress: address,
                info: .init(serverVersion: "fake", protocolVersion: 20, maxMessageSize: 5 * 1024 * 1024))
            // Nothing listens there: re-subscribing after a broker close keeps failing and retrying.
            var configuration = PulsarClientConfiguration(serviceURL: "pulsar://127.0.0.1:9")
            configuration.operationTimeout = .seconds(2)
            configuration.initialBackoff = .milliseconds(50)
            client = PulsarClient(configuration: configuration)
            consumer = PulsarConsumer(
                client: client, topic: "persistent://public/default/fake", subscription: "sub",
                options: options, consumerID: 42, logger: Logger(label: "test"))
        }

        /// The next command the consumer wrote.
        func nextCommand() async throws -> Pulsar_Proto_BaseCommand {
            var buffer = try await channel.waitForOutboundWrite(as: ByteBuffer.self)
            var decoder = PulsarFrameDecoder()
            let frame = try #require(try decoder.decode(buffer: &buffer))
            return frame.command
        }

        /// Delivers a broker command, on the event loop like the channel handler does.
        func broker(_ frame: PulsarFrame) async throws {
            let router = self.router
            try await channel.eventLoop.submit { _ = router.route(frame) }.get()
        }

        func success(_ requestID: UInt64) async throws {
            var success = Pulsar_Proto_CommandSuccess()
            success.requestID = requestID
            var command = Pulsar_Proto_BaseCommand()
            command.type = .success
            command.success = success
            try await broker(PulsarFrame(command: command))
        }

        func message(entry: UInt64, metadata: Pulsar_Proto_MessageMetadata, body: ByteBuffer?) async throws {
            var command = Pulsar_Proto_BaseCommand()
            command.type = .message
            command.message = ConsumerFixtures.command(consumerID: 42, entry: entry)
            let payload = body.map { PulsarFramePayload(metadata: metadata, body: $0) }
            try await broker(PulsarFrame(command: command, payload: payload))
        }

        /// Subscribes and answers SUBSCRIBE; returns the SUBSCRIBE and the FLOW that followed.
        func subscribe() async throws -> (Pulsar_Proto_CommandSubscribe, Pulsar_Proto_CommandFlow) {
            let consumer = self.consumer
            let connection = self.connection
            let subscribing = Task { try await consumer.subscribe(on: connection, resubscribe: false) }
            let subscribe = try await nextCommand()
            #expect(subscribe.type == .subscribe)
            try await success(subscribe.subscribe.requestID)
            try await subscribing.value
            let flow = try await nextCommand()
            #expect(flow.type == .flow)
            return (subscribe.subscribe, flow.flow)
        }

        func shutdown() async {
            await client.shutdown()
            _ = try? await channel.finish()
        }
    }

    @Test("subscribe → FLOW → message → ack, with the options on the wire")
    func subscribeReceiveAck() async throws {
        let harness = Harness(options: ConsumerOptions(subscriptionType: .keyShared, initialPosition: .earliest, receiverQueueSize: 4, consumerName: "c-1"))
        let (subscribe, flow) = try await harness.subscribe()
        #expect(subscribe.topic == "persistent://public/default/fake")
        #expect(subscribe.subscription == "sub")
        #expect(subscribe.subType == .keyShared)
        #expect(subscribe.initialPosition == .earliest)
        #expect(subscribe.consumerName == "c-1")
        #expect(subscribe.consumerID == 42)
        #expect(flow.messagePermits == 4)
        #expect(flow.consumerID == 42)

        var metadata = ConsumerFixtures.metadata(producer: "p", sequenceID: 3)
        metadata.partitionKey = "k"
        try await harness.message(entry: 1, metadata: metadata, body: ByteBuffer(string: "payload-1"))
        let message = try #require(try await harness.consumer.receive())
        #expect(String(buffer: message.payload) == "payload-1")
        #expect(message.key == "k")
        #expect(message.sequenceID == 3)

        try await harness.consumer.acknowledge(message.id)
        let ack = try await harness.nextCommand()
        #expect(ack.type == .ack)
        #expect(ack.ack.consumerID == 42)
        #expect(ack.ack.ackType == .individual)
        #expect(ack.ack.messageID.map { [$0.ledgerID, $0.entryID] } == [[7, 1]])
        await harness.shutdown()
    }

    @Test("a reader waiting before the message arrives is resumed; taking half the queue sends FLOW")
    func waitingReaderAndRefill() async throws {
        let harness = Harness(options: ConsumerOptions(subscriptionType: .shared, receiverQueueSize: 2))
        _ = try await harness.subscribe()
        let consumer = harness.consumer
        let reading = Task { try await consumer.receive() }
        #expect(await waitUntil(timeout: .seconds(5), interval: .milliseconds(1)) { consumer.isReaderWaiting })
        try await harness.message(entry: 5, metadata: ConsumerFixtures.metadata(), body: ByteBuffer(string: "late"))
        let message = try #require(try await reading.value)
        #expect(String(buffer: message.payload) == "late")
        let refill = try await harness.nextCommand()
        #expect(refill.type == .flow)
        #expect(refill.flow.messagePermits == 1)
        await harness.shutdown()
    }

    @Test("a MESSAGE without a usable payload is never delivered; its redelivery is requested")
    func corruptMessageRedelivered() async throws {
        let harness = Harness(options: ConsumerOptions(subscriptionType: .shared, receiverQueueSize: 100))
        _ = try await harness.subscribe()
        try await harness.message(entry: 9, metadata: ConsumerFixtures.metadata(), body: nil)
        let redeliver = try await harness.nextCommand()
        #expect(redeliver.type == .redeliverUnacknowledgedMessages)
        #expect(redeliver.redeliverUnacknowledgedMessages.consumerID == 42)
        #expect(redeliver.redeliverUnacknowledgedMessages.messageIds.map(\.entryID) == [9])
        try await harness.message(entry: 10, metadata: ConsumerFixtures.metadata(), body: ByteBuffer(string: "good"))
        let message = try #require(try await harness.consumer.receive())
        #expect(message.id.entryID == 10)
        await harness.shutdown()
    }

    @Test("CLOSE_CONSUMER from the broker drops queued messages and starts re-subscribing; close() then ends iteration")
    func brokerClosesConsumer() async throws {
        let harness = Harness()
        _ = try await harness.subscribe()
        try await harness.message(entry: 1, metadata: ConsumerFixtures.metadata(), body: ByteBuffer(string: "queued"))
        var close = Pulsar_Proto_CommandCloseConsumer()
        close.consumerID = 42
        close.requestID = 1
        var command = Pulsar_Proto_BaseCommand()
        command.type = .closeConsumer
        command.closeConsumer = close
        try await harness.broker(PulsarFrame(command: command))

        // The queued message belonged to the old subscription: the broker redelivers it later.
        let consumer = harness.consumer
        let reading = Task { try await consumer.receive() }
        #expect(await waitUntil(timeout: .seconds(5), interval: .milliseconds(1)) { consumer.isReaderWaiting })
        try await consumer.close()
        #expect(try await reading.value == nil)
        #expect(try await consumer.receive() == nil)
        await harness.shutdown()
    }

    @Test("close() sends CLOSE_CONSUMER and waits for the answer")
    func closeSendsCloseConsumer() async throws {
        let harness = Harness()
        _ = try await harness.subscribe()
        let consumer = harness.consumer
        let closing = Task { try await consumer.close() }
        let close = try await harness.nextCommand()
        #expect(close.type == .closeConsumer)
        #expect(close.closeConsumer.consumerID == 42)
        try await harness.success(close.closeConsumer.requestID)
        try await closing.value
        await #expect(throws: PulsarConsumerError.self) { try await consumer.acknowledge(PulsarMessageID(ledgerID: 1, entryID: 1)) }
        await harness.shutdown()
    }
}
