import NIOConcurrencyHelpers
import NIOCore
import Testing
@testable import PulsarClient

/// The whole producer (client, pool, lookup, reconnect, resend) against a scripted TCP broker.
@Suite struct ProducerRecoveryTests {
    func makeClient(_ broker: ScriptedBroker) -> PulsarClient {
        var configuration = PulsarClientConfiguration(serviceURL: broker.url)
        configuration.initialBackoff = .milliseconds(10)
        configuration.maxBackoff = .milliseconds(50)
        configuration.operationTimeout = .seconds(5)
        return PulsarClient(configuration: configuration)
    }

    /// Sends `count` messages pipelined and collects their results in completion order.
    func sendAll(_ producer: PulsarProducer, _ range: Range<Int>) async throws -> [Result<PulsarMessageID, PulsarClientError>] {
        let results = NIOLockedValueBox<[Result<PulsarMessageID, PulsarClientError>]>([])
        for index in range {
            try await producer.sendAsync(PulsarOutgoingMessage("m\(index)")) { result in results.withLockedValue { $0.append(result) } }
        }
        try await producer.flush()
        return results.withLockedValue { $0 }
    }

    @Test func brokerCloseProducerRecreatesWithNextEpochAndResendsInOrder() async throws {
        let broker = ScriptedBroker(script: .init(closeProducerAfter: 3))
        try await broker.start()
        let client = makeClient(broker)
        let producer = try await client.createProducer(topic: "persistent://public/default/recovery")
        #expect(producer.producerName == "scripted-producer")
        let results = try await sendAll(producer, 0..<6)
        #expect(results.count == 6)
        #expect(results.allSatisfy { (try? $0.get()) != nil }, "\(results)")
        let recorded = broker.recorded.withLockedValue { $0 }
        #expect(recorded.producerEpochs == [0, 1])
        // Re-created under the broker-assigned name, not a new one.
        #expect(recorded.producerNames == ["", "scripted-producer"])
        let firstRound = recorded.sends.filter { $0.round == 0 }
        let secondRound = recorded.sends.filter { $0.round == 1 }
        #expect(firstRound.first.map(\.sequenceID) == 0)
        #expect(firstRound.map(\.sequenceID) == Array(0..<UInt64(firstRound.count)))
        // Every unacknowledged frame goes out again unchanged (same publish time), in order,
        // before anything that was not sent yet.
        #expect(secondRound.map(\.sequenceID) == Array(0..<6))
        #expect(Array(secondRound.prefix(firstRound.count)).map { Send(round: 0, sequenceID: $0.sequenceID, publishTime: $0.publishTime, payload: $0.payload) } == firstRound)
        try await producer.close()
        await client.shutdown()
        await broker.stop()
    }

    typealias Send = ScriptedBroker.Send

    @Test func closeWithADrainTimeoutFailsWhatTheBrokerNeverAcknowledged() async throws {
        let broker = ScriptedBroker(script: .init(ignoreSends: true))
        try await broker.start()
        let client = makeClient(broker)
        let producer = try await client.createProducer(
            topic: "persistent://public/default/silent", options: ProducerOptions(sendTimeout: .zero))
        let results = NIOLockedValueBox<[Result<PulsarMessageID, PulsarClientError>]>([])
        for index in 0..<3 {
            try await producer.sendAsync(PulsarOutgoingMessage("m\(index)")) { result in results.withLockedValue { $0.append(result) } }
        }
        let started = ContinuousClock.now
        try await producer.close(drainTimeout: .milliseconds(300))
        let took = ContinuousClock.now - started
        #expect(took >= .milliseconds(300) && took < .seconds(3), "close took \(took)")
        let outcome = results.withLockedValue { $0 }
        #expect(outcome.count == 3)
        #expect(outcome.allSatisfy { if case .failure(let error) = $0 { error.code == .producerClosed } else { false } }, "\(outcome)")
        await #expect(throws: PulsarClientError.self) { try await producer.sendAsync(PulsarOutgoingMessage("late")) { _ in } }
        await client.shutdown()
        await broker.stop()
    }

    @Test func receiptAheadOfTheQueueForcesAReconnectAndResend() async throws {
        let broker = ScriptedBroker(script: .init(receiptOutOfOrder: true))
        try await broker.start()
        let client = makeClient(broker)
        let producer = try await client.createProducer(topic: "persistent://public/default/out-of-order")
        let results = try await sendAll(producer, 0..<4)
        #expect(results.count == 4)
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        let recorded = broker.recorded.withLockedValue { $0 }
        #expect(recorded.connections >= 2)
        #expect(recorded.producerEpochs.first == 0)
        #expect(recorded.producerEpochs.last == UInt64(recorded.producerEpochs.count - 1))
        let resent = recorded.sends.filter { $0.round > 0 }.map(\.sequenceID)
        #expect(resent == [0, 1, 2, 3])
        try await producer.close()
        await client.shutdown()
        await broker.stop()
    }

    @Test func transientSendErrorResends() async throws {
        let broker = ScriptedBroker(script: .init(sendError: .persistenceError))
        try await broker.start()
        let client = makeClient(broker)
        let producer = try await client.createProducer(topic: "persistent://public/default/send-error")
        let id = try await producer.send(PulsarOutgoingMessage("retry me"))
        #expect(id.ledgerID == 1)
        let recorded = broker.recorded.withLockedValue { $0 }
        #expect(recorded.sends.map(\.sequenceID) == [0, 0])
        #expect(recorded.producerEpochs == [0, 1])
        try await producer.close()
        await client.shutdown()
        await broker.stop()
    }

    @Test func notAllowedSendErrorFailsAndClosesTheProducer() async throws {
        let broker = ScriptedBroker(script: .init(sendError: .notAllowedError))
        try await broker.start()
        let client = makeClient(broker)
        let producer = try await client.createProducer(topic: "persistent://public/default/not-allowed")
        do {
            _ = try await producer.send(PulsarOutgoingMessage("refused"))
            Issue.record("expected notAllowed")
        } catch let error as PulsarClientError {
            #expect(error.code == .notAllowed)
            #expect(error.serverError == .notAllowedError)
        }
        await #expect(throws: PulsarClientError.self) { _ = try await producer.send(PulsarOutgoingMessage("after")) }
        await client.shutdown()
        await broker.stop()
    }

    @Test func lastSequenceIDComesFromTheFirstProducerSuccessOnly() async throws {
        let broker = ScriptedBroker(script: .init(lastSequenceIDs: [41, 1000], closeProducerAfter: 1))
        try await broker.start()
        let client = makeClient(broker)
        let producer = try await client.createProducer(topic: "persistent://public/default/last-seq", options: ProducerOptions(name: "stable"))
        #expect(producer.lastSequenceID == 41)
        #expect(producer.producerName == "stable")
        _ = try await sendAll(producer, 0..<2)
        let recorded = broker.recorded.withLockedValue { $0 }
        // Both were resent after the re-creation; the second answer (1000) did not move the counter.
        #expect(recorded.sends.filter { $0.round == 1 }.map(\.sequenceID) == [42, 43])
        #expect(recorded.sends.first?.sequenceID == 42)
        #expect(producer.lastSequenceID == 41)
        #expect(recorded.producerNames == ["stable", "stable"])
        try await producer.close()
        await client.shutdown()
        await broker.stop()
    }
}
