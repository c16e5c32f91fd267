import NIOConcurrencyHelpers
import NIOCore
import Testing
@testable import PulsarClient
import TestSupport

/// 100k messages through our producer and our consumer: nothing lost, nothing duplicated.
@Suite("Consumer volume", .enabled(if: StackEnvironment.shouldRun))
struct ConsumerVolumeTests {
    @Test("100k messages produced and consumed exactly once (by sequence id)", .timeLimit(.minutes(5)))
    func hundredThousand() async throws {
        let topic = StackEnvironment.uniqueTopic("consume-100k")
        let client = try InteropStack.makeClient()
        let count = 100_000
        do {
            let consumer = try await client.subscribe(
                topic: topic, subscription: "volume", options: ConsumerOptions(subscriptionType: .shared, initialPosition: .earliest))
            let producer = try await client.createProducer(topic: topic, options: ProducerOptions(name: "volume-producer", maxPendingMessages: 2000))
            let clock = ContinuousClock()
            let start = clock.now
            let failures = NIOLockedValueBox(0)

            async let received: (Int, Int, Bool) = {
                var seen = [Bool](repeating: false, count: count)
                var distinct = 0
                var duplicates = 0
                var outOfRange = false
                while distinct < count {
                    guard let message = try await consumer.receive() else { break }
                    try await consumer.acknowledge(message.id)
                    let index = Int(message.sequenceID)
                    guard index >= 0, index < count else {
                        outOfRange = true
                        continue
                    }
                    if seen[index] { duplicates += 1 } else { seen[index] = true; distinct += 1 }
                }
                return (distinct, duplicates, outOfRange)
            }()

            let payload = ByteBuffer(repeating: UInt8(ascii: "x"), count: 300)
            for i in 0..<count {
                try await producer.sendAsync(PulsarOutgoingMessage(payload: payload, key: "k-\(i % 16)", sequenceID: Int64(i))) { result in
                    if case .failure = result { failures.withLockedValue { $0 += 1 } }
                }
            }
            try await producer.flush()
            let produced = clock.now - start
            let (distinct, duplicates, outOfRange) = try await received
            let total = clock.now - start
            print("consumer volume: produced \(count) in \(produced), produced+consumed in \(total) (\(Int(Double(count) / (Double(total.components.seconds) + Double(total.components.attoseconds) / 1e18))) msg/s), duplicates \(duplicates)")
            #expect(failures.withLockedValue { $0 } == 0)
            #expect(distinct == count)
            #expect(!outOfRange)
            try await producer.close()
            try await consumer.close()
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }
}
