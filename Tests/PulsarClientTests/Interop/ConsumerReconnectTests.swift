import TestSupport
import NIOCore
import NIOPosix
import Testing
@testable import PulsarClient

#if canImport(FoundationEssentials)
import Foundation
#else
import Foundation
#endif

/// Broker restarts on a private pulsar-lite (`PrivateBroker`), never on the shared one.
@Suite("Consumer reconnect", .enabled(if: StackEnvironment.shouldRun), .serialized)
struct ConsumerReconnectTests {
    @Test("after the broker is killed and restarted the consumer re-subscribes and gets every unacknowledged message")
    func resubscribeAfterBrokerRestart() async throws {
        let broker = try await PrivateBroker.make()
        var process = try await broker.start()
        let client = try InteropStack.makeClient(url: broker.url) {
            $0.initialBackoff = .milliseconds(100)
            $0.maxBackoff = .seconds(1)
        }
        do {
            let topic = StackEnvironment.uniqueTopic("reconnect")
            let consumer = try await client.subscribe(
                topic: topic, subscription: "survivor",
                options: ConsumerOptions(subscriptionType: .shared, initialPosition: .earliest, receiverQueueSize: 10))
            let producer = try await client.createProducer(topic: topic)
            for i in 0..<20 { _ = try await producer.send(PulsarOutgoingMessage("before-\(i)")) }
            let firstHalf = try await ReceiveHelper.receiveDistinct(consumer, count: 10, timeout: .seconds(30))
            let acknowledged = Set(firstHalf.map { String(buffer: $0.payload) })

            // Acks are fire-and-forget: crash only once the broker counts all ten as acknowledged.
            #expect(await waitUntilAsync(timeout: .seconds(10), interval: .milliseconds(100)) {
                await broker.acknowledged(subscription: "survivor") >= 10
            })
            await process.stop(kill: true)
            try await Task.sleep(for: .milliseconds(500))
            process = try await broker.start()

            for i in 0..<10 { _ = try await producer.send(PulsarOutgoingMessage("after-\(i)")) }
            // The 10 unacknowledged "before" messages are redelivered to the re-subscribed consumer,
            // plus the 10 new ones; the acknowledged ones must not come back.
            var payloads = Set<String>()
            let deadline = ContinuousClock.now + .seconds(60)
            while payloads.count < 20, ContinuousClock.now < deadline {
                let batch = try await ReceiveHelper.receiveDistinct(consumer, count: 1, timeout: .seconds(30))
                payloads.formUnion(batch.map { String(buffer: $0.payload) })
            }
            let expected = Set((0..<20).map { "before-\($0)" }).subtracting(acknowledged).union((0..<10).map { "after-\($0)" })
            #expect(payloads == expected)
            #expect(payloads.isDisjoint(with: acknowledged))
            try await producer.close()
            try await consumer.close()
        } catch {
            await client.shutdown()
            await process.stop()
            broker.remove()
            throw error
        }
        await client.shutdown()
        await process.stop()
        broker.remove()
    }
}
