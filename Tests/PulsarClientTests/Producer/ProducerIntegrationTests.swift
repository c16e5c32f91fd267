import Atomics
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Testing
@testable import PulsarClient
import TestSupport

/// Against the local pulsar-lite broker (scripts/stack); verified with the official Python client.
@Suite(.enabled(if: StackEnvironment.shouldRun)) struct ProducerIntegrationTests {
    /// Tracks pipelined completions: every callback must fire once, ids must grow.
    final class Tally: Sendable {
        let succeeded = ManagedAtomic(0)
        let failed = ManagedAtomic(0)
        let outOfOrder = ManagedAtomic(0)
        let last = NIOLockedValueBox<PulsarMessageID?>(nil)
        let firstError = NIOLockedValueBox<PulsarClientError?>(nil)

        func record(_ result: Result<PulsarMessageID, PulsarClientError>) {
            switch result {
            case .success(let id):
                succeeded.wrappingIncrement(ordering: .relaxed)
                last.withLockedValue { last in
                    if let previous = last, !(previous < id) { outOfOrder.wrappingIncrement(ordering: .relaxed) }
                    last = id
                }
            case .failure(let error):
                failed.wrappingIncrement(ordering: .relaxed)
                firstError.withLockedValue { if $0 == nil { $0 = error } }
            }
        }
    }

    @Test func hundredThousandPipelinedMessagesAreStoredInOrder() async throws {
        let url = try StackEnvironment.require("PULSAR_URI")
        let client = PulsarClient(configuration: PulsarClientConfiguration(serviceURL: url))
        let topic = StackEnvironment.uniqueTopic("it-pipelined")
        let producer = try await client.createProducer(topic: topic, options: ProducerOptions(name: "it-pipelined-\(UInt32.random(in: 0...UInt32.max))"))
        #expect(producer.lastSequenceID == -1)
        let count = 100_000
        let tally = Tally()
        for index in 0..<count {
            let message = PulsarOutgoingMessage("message-\(index)", key: "key-\(index % 16)", properties: ["seq": "\(index)"])
            try await producer.sendAsync(message) { tally.record($0) }
        }
        try await producer.flush()
        #expect(tally.succeeded.load(ordering: .relaxed) == count)
        #expect(tally.failed.load(ordering: .relaxed) == 0, "\(String(describing: tally.firstError.withLockedValue { $0 }))")
        #expect(tally.outOfOrder.load(ordering: .relaxed) == 0)
        try await producer.close()
        await client.shutdown()

        let consumed = try await consumeWithOfficialClient(topic: topic, expected: count)
        #expect(consumed.seqs.count == count)
        #expect(consumed.seqs == Array(0..<count))
        #expect(consumed.producers == [producer.producerName])
    }

    @Test func sendWaitsForTheReceiptAndCarriesMetadata() async throws {
        let url = try StackEnvironment.require("PULSAR_URI")
        let client = PulsarClient(configuration: PulsarClientConfiguration(serviceURL: url))
        let topic = StackEnvironment.uniqueTopic("it-send")
        let producer = try await client.createProducer(topic: topic)
        #expect(!producer.producerName.isEmpty)  // broker-assigned
        var ids: [PulsarMessageID] = []
        for index in 0..<20 {
            let id = try await producer.send(PulsarOutgoingMessage(
                "payload-\(index)", key: "order-\(index)", properties: ["seq": "\(index)", "kind": "test"],
                eventTime: 1_700_000_000_000 + UInt64(index), sequenceID: Int64(1000 + index)))
            ids.append(id)
        }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == 20)
        #expect(ids.allSatisfy { $0.partition == -1 && $0.batchIndex == -1 })
        try await producer.close()
        await client.shutdown()
        let consumed = try await consumeWithOfficialClient(topic: topic, expected: 20)
        #expect(consumed.seqs == Array(0..<20))
    }

    @Test func batchedZlibMessagesAreReadableByTheOfficialClient() async throws {
        let url = try StackEnvironment.require("PULSAR_URI")
        let client = PulsarClient(configuration: PulsarClientConfiguration(serviceURL: url))
        let topic = StackEnvironment.uniqueTopic("it-batch")
        let options = ProducerOptions(batching: BatchingOptions(maxMessages: 100, maxBytes: 64 * 1024, maxDelay: .milliseconds(5)), compression: .zlib)
        let producer = try await client.createProducer(topic: topic, options: options)
        let count = 10_000
        let tally = Tally()
        for index in 0..<count {
            try await producer.sendAsync(PulsarOutgoingMessage("batched-\(index)", properties: ["seq": "\(index)"])) { tally.record($0) }
        }
        try await producer.flush()
        #expect(tally.succeeded.load(ordering: .relaxed) == count)
        #expect(tally.outOfOrder.load(ordering: .relaxed) == 0)
        #expect(tally.last.withLockedValue { $0?.batchIndex ?? -1 } >= 0)
        try await producer.close()
        await client.shutdown()
        let consumed = try await consumeWithOfficialClient(topic: topic, expected: count)
        #expect(consumed.seqs == Array(0..<count))
    }

    /// maxDelay .zero: batches close on the connection's next event-loop turn. A burst still
    /// forms batches, a lone message is not held back, and the official client reads them all.
    @Test func tickBatchingKeepsOrderAndDoesNotHoldALoneMessage() async throws {
        let url = try StackEnvironment.require("PULSAR_URI")
        let client = PulsarClient(configuration: PulsarClientConfiguration(serviceURL: url))
        let topic = StackEnvironment.uniqueTopic("it-tick-batch")
        let options = ProducerOptions(batching: BatchingOptions(maxMessages: 50, maxBytes: 64 * 1024, maxDelay: .zero))
        let producer = try await client.createProducer(topic: topic, options: options)
        let count = 5_000
        let tally = Tally()
        for index in 0..<count {
            try await producer.sendAsync(
                PulsarOutgoingMessage("tick-\(index)", key: "k\(index % 7)", properties: ["seq": "\(index)"], eventTime: 1_700_000_000_000, sequenceID: Int64(index))
            ) { tally.record($0) }
        }
        try await producer.flush()
        #expect(tally.succeeded.load(ordering: .relaxed) == count)
        #expect(tally.outOfOrder.load(ordering: .relaxed) == 0)
        #expect(tally.last.withLockedValue { $0?.batchIndex ?? -1 } >= 0, "a burst of sendAsync forms batches")

        // A lone send completes: with .zero there is no timer, only the event-loop turn, and no
        // flush() is called. (The 30 s bound only turns a hang into a failure.)
        let lone = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                _ = try await producer.send(PulsarOutgoingMessage("tick-\(count)", properties: ["seq": "\(count)"], sequenceID: Int64(count)))
                return true
            }
            group.addTask {
                try await Task.sleep(for: .seconds(30))
                return false
            }
            defer { group.cancelAll() }
            return try await group.next() ?? false
        }
        #expect(lone, "a lone message in a tick-batching producer was never sent")
        try await producer.close()
        await client.shutdown()
        let consumed = try await consumeWithOfficialClient(topic: topic, expected: count + 1)
        #expect(consumed.seqs == Array(0...count))
    }

    /// A message over the broker's limit fails alone with messageTooLarge; the small messages
    /// around it are not batched with it and all arrive.
    @Test func oversizedMessageInABatchingProducerFailsAlone() async throws {
        let url = try StackEnvironment.require("PULSAR_URI")
        let client = PulsarClient(configuration: PulsarClientConfiguration(serviceURL: url))
        let topic = StackEnvironment.uniqueTopic("it-batch-big")
        let options = ProducerOptions(batching: BatchingOptions(maxMessages: 100, maxBytes: 64 * 1024, maxDelay: .zero))
        let producer = try await client.createProducer(topic: topic, options: options)
        let tally = Tally()
        let bigError = NIOLockedValueBox<PulsarClientError?>(nil)
        for index in 0..<10 {
            try await producer.sendAsync(PulsarOutgoingMessage("small-\(index)", properties: ["seq": "\(index)"])) { tally.record($0) }
        }
        let big = PulsarOutgoingMessage(payload: ByteBuffer(repeating: 0x61, count: 6 * 1024 * 1024))
        try await producer.sendAsync(big) { result in
            if case .failure(let error) = result { bigError.withLockedValue { $0 = error } }
        }
        for index in 10..<20 {
            try await producer.sendAsync(PulsarOutgoingMessage("small-\(index)", properties: ["seq": "\(index)"])) { tally.record($0) }
        }
        try await producer.flush()
        #expect(bigError.withLockedValue { $0?.code } == .messageTooLarge)
        #expect(tally.succeeded.load(ordering: .relaxed) == 20)
        #expect(tally.failed.load(ordering: .relaxed) == 0)
        try await producer.close()
        await client.shutdown()
        let consumed = try await consumeWithOfficialClient(topic: topic, expected: 20)
        #expect(consumed.seqs == Array(0..<20))
    }

    @Test func closedProducerRefusesSends() async throws {
        let url = try StackEnvironment.require("PULSAR_URI")
        let client = PulsarClient(configuration: PulsarClientConfiguration(serviceURL: url))
        let producer = try await client.createProducer(topic: StackEnvironment.uniqueTopic("it-closed"))
        _ = try await producer.send(PulsarOutgoingMessage("one"))
        try await producer.close()
        await #expect(throws: PulsarClientError.self) { _ = try await producer.send(PulsarOutgoingMessage("two")) }
        await client.shutdown()
    }

    @Test func unreachableBrokerFailsWithConnectionError() async throws {
        _ = try StackEnvironment.require("PULSAR_URI")
        var configuration = PulsarClientConfiguration(serviceURL: "pulsar://127.0.0.1:1")
        configuration.operationTimeout = .seconds(2)
        let client = PulsarClient(configuration: configuration)
        do {
            _ = try await client.createProducer(topic: "persistent://public/default/nowhere")
            Issue.record("expected a connection failure")
        } catch let error as PulsarClientError {
            #expect(error.code == .connectionFailed)
        }
        await client.shutdown()
    }
}

/// Restarts the shared broker: run alone.
@Suite(.serialized, .enabled(if: StackEnvironment.shouldRun)) struct ProducerBrokerRestartFaultTests {
    @Test func brokerKilledMidSendLosesNothingAndKeepsOrder() async throws {
        let url = try StackEnvironment.require("PULSAR_URI")
        var configuration = PulsarClientConfiguration(serviceURL: url)
        configuration.maxBackoff = .seconds(1)
        configuration.operationTimeout = .seconds(10)
        let client = PulsarClient(configuration: configuration)
        let topic = StackEnvironment.uniqueTopic("it-kill")
        let producer = try await client.createProducer(topic: topic, options: ProducerOptions(name: "it-kill-\(UInt32.random(in: 0...UInt32.max))", sendTimeout: .seconds(120)))
        let count = 30_000
        let tally = ProducerIntegrationTests.Tally()
        let killer = Task.detached {
            // Kill once a third has been acknowledged, bring it back a moment later.
            while tally.succeeded.load(ordering: .relaxed) < count / 3 { try await Task.sleep(for: .milliseconds(5)) }
            try await StackEnvironment.stack("broker-kill")
            try await Task.sleep(for: .seconds(1))
            try await StackEnvironment.stack("broker-start")
        }
        for index in 0..<count {
            try await producer.sendAsync(PulsarOutgoingMessage("survivor-\(index)", properties: ["seq": "\(index)"])) { tally.record($0) }
        }
        try await killer.value
        try await producer.flush()
        #expect(tally.succeeded.load(ordering: .relaxed) == count)
        #expect(tally.failed.load(ordering: .relaxed) == 0, "\(String(describing: tally.firstError.withLockedValue { $0 }))")
        try await producer.close()
        await client.shutdown()

        let consumed = try await consumeWithOfficialClient(topic: topic, expected: count, timeoutSeconds: 180)
        // Every message stored; first occurrences in send order (no gaps). pulsar-lite has no
        // deduplication, so messages persisted just before the kill come back once more.
        var seen = Set<Int>()
        var firstOccurrences: [Int] = []
        for seq in consumed.seqs where seen.insert(seq).inserted { firstOccurrences.append(seq) }
        let duplicates = consumed.seqs.count - firstOccurrences.count
        print("broker-kill test: \(consumed.seqs.count) stored, \(duplicates) duplicates from the resend")
        #expect(firstOccurrences == Array(0..<count))
        // Duplicates only come from one resend window, bounded by the pending queue.
        #expect(duplicates <= 1000)
    }
}

/// What the official client read of a topic: the "seq" property of each message in delivery
/// order, the number of distinct message ids and the producers' names.
struct OfficialConsumed {
    var seqs: [Int]
    var ids: Int
    var producers: [String]
}

/// Reads `topic` from the beginning with the official client, until `expected` messages arrived
/// and the topic has been quiet for two seconds (so duplicates and extras show).
func consumeWithOfficialClient(topic: String, expected: Int, timeoutSeconds: Int = 120) async throws -> OfficialConsumed {
    let result = try await OfficialConsumer.consume(topic: topic, count: expected, linger: .seconds(2), timeout: .seconds(timeoutSeconds))
    return OfficialConsumed(
        seqs: result.messages.map { Int($0.properties["seq"] ?? "") ?? -1 },
        ids: Set(result.messages.map(\.id)).count,
        producers: Set(result.messages.map(\.producerName)).sorted())
}
