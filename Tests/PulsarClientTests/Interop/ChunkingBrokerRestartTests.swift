import NIOConcurrencyHelpers
import NIOCore
import Testing
@testable import PulsarClient
import TestSupport

/// Restarts the shared broker while chunked messages are in flight: run alone.
@Suite(.serialized, .enabled(if: StackEnvironment.shouldRun))
struct ChunkingBrokerRestartTests {
    @Test(.timeLimit(.minutes(4)))
    func brokerKilledMidChunkedSendsLosesNothing() async throws {
        let url = try StackEnvironment.require("PULSAR_URI")
        var configuration = PulsarClientConfiguration(serviceURL: url)
        configuration.maxBackoff = .seconds(1)
        configuration.operationTimeout = .seconds(10)
        let client = PulsarClient(configuration: configuration)
        let topic = StackEnvironment.uniqueTopic("it-kill-chunks")
        let producer = try await client.createProducer(topic: topic, options: ProducerOptions(sendTimeout: .seconds(120), chunking: true))
        let count = 6
        let size = 12 * 1024 * 1024
        let results = NIOLockedValueBox<[Int: Result<PulsarMessageID, PulsarClientError>]>([:])
        let killer = NIOLockedValueBox<Task<Void, any Error>?>(nil)
        for index in 0..<count {
            try await producer.sendAsync(ChunkingInteropTests.message(size: size, seed: UInt64(100 + index))) { result in
                results.withLockedValue { $0[index] = result }
                // The first receipt: the other messages' chunks are still on their way.
                guard index == 0 else { return }
                killer.withLockedValue { task in
                    task = Task.detached {
                        try await StackEnvironment.stack("broker-kill")
                        try await Task.sleep(for: .seconds(1))  // stay down a moment
                        try await StackEnvironment.stack("broker-start")
                    }
                }
            }
        }
        try await producer.flush()
        try await killer.withLockedValue { $0 }?.value
        let outcome = results.withLockedValue { $0 }
        #expect(outcome.count == count)
        #expect(outcome.values.allSatisfy { (try? $0.get()) != nil }, "\(outcome)")
        try await producer.close()

        // Read everything up to a marker: every message whole; pulsar-lite has no deduplication,
        // so a message stored just before the kill may come twice, and resent chunks are skipped.
        let marker = try await client.createProducer(topic: topic)
        _ = try await marker.send(PulsarOutgoingMessage("marker"))
        try await marker.close()
        let consumer = try await client.subscribe(
            topic: topic, subscription: "after-kill", options: ConsumerOptions(subscriptionType: .shared, initialPosition: .earliest))
        var seeds: [UInt64] = []
        // The marker is the one message without a seed (decoding 12 MB as text to spot it is slow).
        while let message = try await consumer.receive(), message.properties["seed"] != nil {
            let seed = try #require(message.properties["seed"].flatMap(UInt64.init))
            #expect(message.payload == ChunkingInteropTests.pattern(size: size, seed: seed))
            seeds.append(seed)
            try await consumer.acknowledge(message)
        }
        try await consumer.close()
        await client.shutdown()
        var firstOccurrences: [UInt64] = []
        for seed in seeds where !firstOccurrences.contains(seed) { firstOccurrences.append(seed) }
        print("chunked broker-kill test: \(seeds.count) delivered, \(seeds.count - firstOccurrences.count) duplicates")
        #expect(firstOccurrences == (0..<UInt64(count)).map { 100 + $0 })
    }
}
