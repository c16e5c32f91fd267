import TestSupport
import NIOConcurrencyHelpers
import NIOCore
import Testing
@testable import PulsarClient

#if canImport(FoundationEssentials)
import Foundation
#else
import Foundation
#endif

/// Our producer → broker → our consumer, on the local stack's broker.
@Suite("Consumer integration", .enabled(if: StackEnvironment.shouldRun))
struct ConsumerIntegrationTests {
    @Test("every message our producer sent arrives once, with its metadata, on a shared subscription")
    func produceThenConsume() async throws {
        let topic = StackEnvironment.uniqueTopic("consume-exact")
        let client = try InteropStack.makeClient()
        let count = 500
        do {
            // Subscribe first (latest position) so the test also covers live delivery.
            let consumer = try await client.subscribe(
                topic: topic, subscription: "exact", options: ConsumerOptions(subscriptionType: .shared, receiverQueueSize: 100))
            let producer = try await client.createProducer(topic: topic, options: ProducerOptions(name: "exact-producer"))
            let failures = NIOLockedValueBox<[String]>([])
            for i in 0..<count {
                let message = PulsarOutgoingMessage(
                    "event-\(i)", key: "aggregate-\(i % 7)", properties: ["event_id": "\(i)"],
                    eventTime: 1_700_000_000_000 + UInt64(i), sequenceID: Int64(i))
                try await producer.sendAsync(message) { result in
                    if case .failure(let error) = result { failures.withLockedValue { $0.append("\(error)") } }
                }
            }
            try await producer.flush()
            #expect(failures.withLockedValue { $0 }.isEmpty)

            let messages = try await ReceiveHelper.receiveDistinct(consumer, count: count)
            #expect(messages.count == count)
            let events = messages.compactMap { $0.properties["event_id"].flatMap(Int.init) }
            #expect(Set(events) == Set(0..<count))
            #expect(events.count == count)
            for message in messages {
                let i = try #require(message.properties["event_id"].flatMap(Int.init))
                #expect(String(buffer: message.payload) == "event-\(i)")
                #expect(message.key == "aggregate-\(i % 7)")
                #expect(message.sequenceID == Int64(i))
                #expect(message.eventTime == 1_700_000_000_000 + UInt64(i))
                #expect(message.producerName == "exact-producer")
                #expect(message.topic == topic)
            }
            try await producer.close()
            try await consumer.close()
            // Once closed, iteration ends instead of waiting forever.
            #expect(try await consumer.receive() == nil)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    @Test("every subscription type subscribes and receives the topic's messages", arguments: SubscriptionType.allCases)
    func subscriptionTypes(type: SubscriptionType) async throws {
        let topic = StackEnvironment.uniqueTopic("consume-type")
        let client = try InteropStack.makeClient()
        do {
            let producer = try await client.createProducer(topic: topic)
            for i in 0..<30 { _ = try await producer.send(PulsarOutgoingMessage("t-\(i)", key: "key-\(i % 5)")) }
            let consumer = try await client.subscribe(
                topic: topic, subscription: "type-\(type)",
                options: ConsumerOptions(subscriptionType: type, initialPosition: .earliest, consumerName: "consumer-\(type)"))
            // Counted by message id: pulsar-lite may repeat deliveries on exclusive/failover backlogs.
            let messages = try await ReceiveHelper.receiveDistinct(consumer, count: 30, timeout: .seconds(30))
            #expect(Set(messages.map { String(buffer: $0.payload) }) == Set((0..<30).map { "t-\($0)" }))
            try await consumer.close()
            try await producer.close()
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    @Test("acknowledged messages are not delivered again to the next consumer of the subscription")
    func acknowledgedStayAcknowledged() async throws {
        let topic = StackEnvironment.uniqueTopic("consume-acks")
        let client = try InteropStack.makeClient()
        do {
            let producer = try await client.createProducer(topic: topic)
            for i in 0..<20 { _ = try await producer.send(PulsarOutgoingMessage("m-\(i)")) }
            let options = ConsumerOptions(subscriptionType: .shared, initialPosition: .earliest)
            let first = try await client.subscribe(topic: topic, subscription: "acks", options: options)
            // Acknowledge only the first 10; the other 10 are received but not acknowledged.
            var received: [PulsarMessage] = []
            while received.count < 20 {
                guard let message = try await first.receive() else { break }
                if !received.contains(where: { $0.id == message.id }) { received.append(message) }
            }
            let sorted = received.sorted { $0.id < $1.id }
            for message in sorted.prefix(10) { try await first.acknowledge(message.id) }
            try await first.close()

            let second = try await client.subscribe(topic: topic, subscription: "acks", options: options)
            let again = try await ReceiveHelper.receiveDistinct(second, count: 10, timeout: .seconds(30))
            #expect(Set(again.map(\.id)) == Set(sorted.suffix(10).map(\.id)))
            #expect(again.allSatisfy { $0.redeliveryCount >= 0 })
            try await second.close()
            try await producer.close()
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    @Test("cumulative acknowledgement on an exclusive subscription acknowledges everything before it")
    func cumulativeAck() async throws {
        let topic = StackEnvironment.uniqueTopic("consume-cumulative")
        let client = try InteropStack.makeClient()
        do {
            let producer = try await client.createProducer(topic: topic)
            for i in 0..<10 { _ = try await producer.send(PulsarOutgoingMessage("c-\(i)")) }
            let options = ConsumerOptions(subscriptionType: .exclusive, initialPosition: .earliest)
            let first = try await client.subscribe(topic: topic, subscription: "cumulative", options: options)
            let messages = try await ReceiveHelper.receiveDistinct(first, count: 10, acknowledge: false)
            let sorted = messages.sorted { $0.id < $1.id }
            try await first.acknowledgeCumulative(sorted[5].id)
            try await first.close()

            let second = try await client.subscribe(topic: topic, subscription: "cumulative", options: options)
            let rest = try await ReceiveHelper.receiveDistinct(second, count: 4, timeout: .seconds(30))
            #expect(Set(rest.map(\.id)) == Set(sorted[6...].map(\.id)))
            try await second.close()
            try await producer.close()
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    @Test("a shared subscription refuses cumulative acks with a typed error")
    func sharedRefusesCumulative() async throws {
        let client = try InteropStack.makeClient()
        do {
            let consumer = try await client.subscribe(
                topic: StackEnvironment.uniqueTopic("consume-shared-cumulative"), subscription: "s",
                options: ConsumerOptions(subscriptionType: .shared))
            await #expect(throws: PulsarConsumerError.self) {
                try await consumer.acknowledgeCumulative(PulsarMessageID(ledgerID: 1, entryID: 1))
            }
            try await consumer.close()
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    @Test("invalid options are refused before anything is sent")
    func invalidOptions() async throws {
        let client = try InteropStack.makeClient()
        await #expect(throws: PulsarConsumerError.self) {
            _ = try await client.subscribe(topic: "t", subscription: "s", options: ConsumerOptions(receiverQueueSize: 0))
        }
        await #expect(throws: PulsarClientError.self) {
            _ = try await client.subscribe(topic: "t", subscription: "", options: ConsumerOptions())
        }
        await client.shutdown()
    }
}
