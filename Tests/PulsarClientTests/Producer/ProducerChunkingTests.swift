import NIOConcurrencyHelpers
import NIOCore
import Testing
@testable import PulsarClient

/// A chunked message in the producer's pending queue: one entry with a frame per chunk, one
/// sequence id, one slot, completed on the last chunk's receipt.
@Suite struct ProducerChunkingTests {
    typealias Machine = ProducerStateMachine<Int, Int>
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func messageID(_ entry: UInt64) -> Pulsar_Proto_MessageIdData {
        var id = Pulsar_Proto_MessageIdData()
        id.ledgerID = 1
        id.entryID = entry
        return id
    }

    func readyMachine(max: Int = 10) -> Machine {
        var machine = Machine(maxPendingMessages: max, chunking: true, maxMessageSize: 100)
        _ = machine.producerCreated(lastSequenceID: -1, maxMessageSize: 100)
        return machine
    }

    /// Sends a message above the limit and builds it as `chunks` frames "s<seq>-c<i>", the way
    /// PartitionProducer does with the job the machine returns.
    func sendChunked(_ machine: inout Machine, tag: Int, chunks: Int, at time: NIODeadline? = nil) -> UInt64? {
        #expect(machine.reserveSlot() == .reserved)
        let plan = machine.send(PulsarOutgoingMessage(payload: ByteBuffer(repeating: 1, count: 250)), completion: tag, now: time ?? t0, publishTime: 0)
        guard plan.jobs.count == 1, let job = plan.jobs.first, case .single(let sequenceID, _) = job.content, job.chunking else {
            Issue.record("expected one job for a message that may need chunking")
            return nil
        }
        let frames = (0..<chunks).map { ByteBuffer(string: "s\(sequenceID)-c\($0)") }
        _ = machine.framesBuilt(entryID: job.entryID, .success(frames))
        return sequenceID
    }

    @Test func theMessageCompletesOnTheLastChunksReceiptOnly() {
        var machine = readyMachine()
        guard let sequenceID = sendChunked(&machine, tag: 1, chunks: 3) else { return }
        #expect(machine.takeOutbox().count == 3)
        #expect(machine.pendingCount == 1)
        #expect(machine.occupiedSlots == 1)
        for entry in 0..<2 {
            guard case .resolved(let resolution) = machine.receiptReceived(sequenceID: sequenceID, messageID: messageID(UInt64(entry))) else {
                Issue.record("receipt for chunk \(entry) not taken")
                return
            }
            #expect(resolution.isEmpty)
            #expect(machine.occupiedSlots == 1)
        }
        guard case .resolved(let last) = machine.receiptReceived(sequenceID: sequenceID, messageID: messageID(2)) else {
            Issue.record("last receipt not taken")
            return
        }
        guard case .one(let tag)? = last.succeeded.first?.0.completions else {
            Issue.record("the message's completion runs once")
            return
        }
        #expect(tag == 1)
        #expect(last.succeeded.first?.1.entryID == 2)
        #expect(machine.occupiedSlots == 0)
        #expect(machine.pendingCount == 0)
        #expect(machine.resolvedTotal == machine.enqueuedTotal)
    }

    @Test func aChunkedMessageHoldsOneSlot() {
        var machine = readyMachine(max: 2)
        _ = sendChunked(&machine, tag: 1, chunks: 5)
        _ = sendChunked(&machine, tag: 2, chunks: 5)
        #expect(machine.takeOutbox().count == 10)
        guard case .mustWait = machine.reserveSlot() else {
            Issue.record("two chunked messages fill two slots")
            return
        }
    }

    @Test func reconnectResendsTheUnacknowledgedChunksUnchanged() {
        var machine = readyMachine()
        guard let sequenceID = sendChunked(&machine, tag: 1, chunks: 4) else { return }
        _ = machine.receiptReceived(sequenceID: sequenceID, messageID: messageID(0))
        _ = machine.disconnected(jitter: 0)
        _ = machine.producerCreated(lastSequenceID: -1, maxMessageSize: 100)
        #expect(machine.takeOutbox().map { String(buffer: $0) } == ["s0-c1", "s0-c2", "s0-c3"])
    }

    @Test func aTimeoutFailsTheMessageOnce() {
        var machine = readyMachine()
        _ = sendChunked(&machine, tag: 1, chunks: 3)
        let resolution = machine.checkTimeouts(now: t0 + .seconds(31), sendTimeout: .seconds(30))
        #expect(resolution.failed.count == 1)
        #expect(resolution.failed.flatMap { $0.0.completions.all } == [1])
        #expect(machine.occupiedSlots == 0)
    }
}

/// The whole producer against a scripted broker announcing a small max_message_size.
@Suite struct ProducerChunkingRecoveryTests {
    func makeClient(_ broker: ScriptedBroker) -> PulsarClient {
        var configuration = PulsarClientConfiguration(serviceURL: broker.url)
        configuration.initialBackoff = .milliseconds(10)
        configuration.maxBackoff = .milliseconds(50)
        configuration.operationTimeout = .seconds(5)
        return PulsarClient(configuration: configuration)
    }

    static let maxSize: Int32 = 2048

    static func text(_ size: Int, _ letter: Character) -> String { String(repeating: letter, count: size) }

    @Test func chunksAreSentInOrderAndResentUnchangedAfterTheBrokerClosesTheProducer() async throws {
        let broker = ScriptedBroker(script: .init(closeProducerAfter: 2, maxMessageSize: Self.maxSize))
        try await broker.start()
        let client = makeClient(broker)
        let producer = try await client.createProducer(topic: "persistent://public/default/chunks", options: ProducerOptions(chunking: true))
        let big = Self.text(5 * Int(Self.maxSize) + 20_000, "b")
        let results = NIOLockedValueBox<[Result<PulsarMessageID, PulsarClientError>]>([])
        try await producer.sendAsync(PulsarOutgoingMessage("small-before")) { result in results.withLockedValue { $0.append(result) } }
        try await producer.sendAsync(PulsarOutgoingMessage(big)) { result in results.withLockedValue { $0.append(result) } }
        try await producer.sendAsync(PulsarOutgoingMessage("small-after")) { result in results.withLockedValue { $0.append(result) } }
        try await producer.flush()
        let outcome = results.withLockedValue { $0 }
        #expect(outcome.count == 3)
        #expect(outcome.allSatisfy { (try? $0.get()) != nil }, "\(outcome)")

        let recorded = broker.recorded.withLockedValue { $0 }
        #expect(recorded.producerEpochs == [0, 1])
        let firstRound = recorded.sends.filter { $0.round == 0 }
        let secondRound = recorded.sends.filter { $0.round == 1 }
        // Sequence ids: 0 small, 1 for every chunk, 2 small; chunk ids 0..n-1 in order.
        let chunks = secondRound.filter { $0.sequenceID == 1 }
        #expect(chunks.count > 5)
        #expect(chunks.map(\.chunkID) == (0..<Int32(chunks.count)).map { Optional($0) })
        #expect(chunks.allSatisfy { $0.isChunk })
        #expect(chunks.map(\.payload).joined() == big)
        #expect(secondRound.map(\.sequenceID) == [0] + Array(repeating: 1, count: chunks.count) + [2])
        // What was written before the broker closed the producer is written again unchanged.
        #expect(Array(secondRound.prefix(firstRound.count)).map { ScriptedBroker.Send(round: 0, sequenceID: $0.sequenceID, publishTime: $0.publishTime, payload: $0.payload, chunkID: $0.chunkID, isChunk: $0.isChunk) } == firstRound)
        #expect(firstRound.count >= 2)
        try await producer.close()
        await client.shutdown()
        await broker.stop()
    }

    @Test func withoutChunkingATooLargeMessageStillFails() async throws {
        let broker = ScriptedBroker(script: .init(maxMessageSize: Self.maxSize))
        try await broker.start()
        let client = makeClient(broker)
        let producer = try await client.createProducer(topic: "persistent://public/default/no-chunks")
        await #expect(throws: PulsarClientError.self) {
            _ = try await producer.send(PulsarOutgoingMessage(Self.text(Int(Self.maxSize) + 20_000, "x")))
        }
        do {
            _ = try await producer.send(PulsarOutgoingMessage(Self.text(Int(Self.maxSize) + 20_000, "x")))
        } catch let error as PulsarClientError {
            #expect(error.code == .messageTooLarge)
        }
        _ = try await producer.send(PulsarOutgoingMessage("fits"))
        try await producer.close()
        await client.shutdown()
        await broker.stop()
    }

    @Test func withBatchingAChunkedMessageFlushesTheOpenBatchFirst() async throws {
        let broker = ScriptedBroker(script: .init(maxMessageSize: Self.maxSize))
        try await broker.start()
        let client = makeClient(broker)
        let options = ProducerOptions(batching: BatchingOptions(maxMessages: 100, maxDelay: .seconds(10)), chunking: true)
        let producer = try await client.createProducer(topic: "persistent://public/default/batch-chunks", options: options)
        let results = NIOLockedValueBox<[Int: Result<PulsarMessageID, PulsarClientError>]>([:])
        for (index, text) in ["a", "b", Self.text(3 * Int(Self.maxSize) + 20_000, "c"), "d"].enumerated() {
            try await producer.sendAsync(PulsarOutgoingMessage(text)) { result in results.withLockedValue { $0[index] = result } }
        }
        try await producer.flush()
        let outcome = results.withLockedValue { $0 }
        #expect(outcome.count == 4)
        #expect(outcome.values.allSatisfy { (try? $0.get()) != nil }, "\(outcome)")
        let sends = broker.recorded.withLockedValue { $0.sends }
        // The batch [a, b] (sequence id 0), then the chunks of message 2, then the batch [d].
        #expect(sends.first?.sequenceID == 0 && sends.first?.chunkID == nil)
        let chunkSends = sends.dropFirst().prefix { $0.chunkID != nil }
        #expect(chunkSends.count >= 2 && chunkSends.allSatisfy { $0.sequenceID == 2 })
        #expect(sends.last?.sequenceID == 3 && sends.last?.chunkID == nil)
        try await producer.close()
        await client.shutdown()
        await broker.stop()
    }
}
