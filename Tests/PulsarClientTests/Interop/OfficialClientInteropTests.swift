import TestSupport
import NIOCore
import Testing
@testable import PulsarClient

#if canImport(FoundationEssentials)
import Foundation
#else
import Foundation
#endif

/// Interop with the official Apache Pulsar client (Python, C++ core) through the local broker.
@Suite("Interop with the official client", .enabled(if: StackEnvironment.shouldRun))
struct OfficialClientInteropTests {
    /// What the official producer helper writes for message i (see official_produce.py).
    static func expectedPayload(_ i: Int) -> String { "official-\(i)-" + String(repeating: "x", count: i % 40) }

    @Test("the official client reads what our producer writes: payload, key, properties, event time, producer name")
    func officialReadsOurs() async throws {
        let url = try StackEnvironment.require("PULSAR_URI")
        let topic = StackEnvironment.uniqueTopic("interop-ours")
        let client = try InteropStack.makeClient(url: url)
        let count = 40
        do {
            let producer = try await client.createProducer(topic: topic, options: ProducerOptions(name: "swift-producer-\(UUID().uuidString.prefix(6))"))
            for i in 0..<count {
                let message = PulsarOutgoingMessage(
                    "ours-\(i) ünïcödé",
                    key: i % 2 == 0 ? "even" : "odd-\(i)",
                    properties: ["index": "\(i)", "source": "swift"],
                    eventTime: 1_650_000_000_000 + UInt64(i),
                    sequenceID: 5000 + Int64(i)
                )
                _ = try await producer.send(message)
            }
            let name = producer.producerName
            try await producer.close()

            let result = try await OfficialConsumer.consume(topic: topic, count: count, url: url, subscription: "official-sub", timeout: .seconds(60))
            #expect(result.complete, "official consumer timed out: \(result.log.suffix(2000))")
            #expect(result.messages.count == count)
            var seenIndexes = Set<Int>()
            for message in result.messages {
                let index = try #require(message.properties["index"].flatMap(Int.init))
                seenIndexes.insert(index)
                #expect(message.text == "ours-\(index) ünïcödé")
                #expect(message.key == (index % 2 == 0 ? "even" : "odd-\(index)"))
                #expect(message.properties == ["index": "\(index)", "source": "swift"])
                #expect(message.eventTime == 1_650_000_000_000 + UInt64(index))
                #expect(message.producerName == name)
                #expect(message.publishTime > 1_600_000_000_000)
            }
            #expect(seenIndexes == Set(0..<count))
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    /// Each way the official client can write a message; our consumer must read all of them.
    static let modes: [(String, String)] = [
        ("unbatched", "NONE"), ("unbatched", "ZLIB"),
        ("batched", "NONE"), ("batched", "LZ4"), ("batched", "ZLIB"), ("batched", "ZSTD"), ("batched", "SNAPPY"),
    ]

    @Test("our consumer reads what the official client writes", arguments: modes)
    func oursReadsOfficial(mode: String, compression: String) async throws {
        let url = try StackEnvironment.require("PULSAR_URI")
        let python = try StackEnvironment.require("STACK_PYTHON")
        let topic = StackEnvironment.uniqueTopic("interop-official-\(mode)-\(compression.lowercased())")
        let producerName = "official-\(mode)-\(compression.lowercased())"
        let count = 60
        let produced = try await Spawn.capture(
            python,
            [InteropStack.helperPath("official_produce.py"), url, topic, "\(count)", mode, compression, producerName]
        )
        try #require(produced.status == 0, "official producer failed: \(produced.stderr)")

        let client = try InteropStack.makeClient(url: url)
        do {
            let consumer = try await client.subscribe(
                topic: topic,
                subscription: "ours",
                options: ConsumerOptions(subscriptionType: .shared, initialPosition: .earliest)
            )
            let messages = try await ReceiveHelper.receiveDistinct(consumer, count: count)
            #expect(messages.count == count)
            let byIndex = Dictionary(messages.compactMap { message in message.properties["index"].flatMap(Int.init).map { ($0, message) } }, uniquingKeysWith: { first, _ in first })
            #expect(Set(byIndex.keys) == Set(0..<count))
            for (index, message) in byIndex {
                #expect(String(buffer: message.payload) == Self.expectedPayload(index))
                #expect(message.key == "key-\(index % 3)")
                #expect(message.properties == ["index": "\(index)", "mode": mode])
                #expect(message.eventTime == 1_600_000_000_000 + UInt64(index))
                #expect(message.sequenceID == 1000 + Int64(index))
                #expect(message.producerName == producerName)
                #expect(message.redeliveryCount == 0)
            }
            if mode == "batched" {
                // The official client really batched: several messages share one entry.
                let entries = Set(messages.map { EntryPosition(ledgerID: $0.id.ledgerID, entryID: $0.id.entryID) })
                #expect(entries.count < count)
                #expect(messages.allSatisfy { $0.id.batchIndex >= 0 })
            } else {
                #expect(messages.allSatisfy { $0.id.batchIndex == -1 })
            }
            try await consumer.close()
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }
}
