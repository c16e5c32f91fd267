import NIOConcurrencyHelpers
import Testing
@testable import PulsarClient

/// A send waiting for room in the pending queue stops waiting when its task is cancelled, and
/// takes no slot: the producer goes on with the next sender.
@Suite struct ProducerCancellationTests {
    func makeClient(_ broker: ScriptedBroker) -> PulsarClient {
        var configuration = PulsarClientConfiguration(serviceURL: broker.url)
        configuration.operationTimeout = .seconds(5)
        return PulsarClient(configuration: configuration)
    }

    @Test func aWaitingSendIsCancelledWithItsTask() async throws {
        // A broker that never answers SEND: the one pending slot stays taken.
        let broker = ScriptedBroker(script: .init(ignoreSends: true))
        try await broker.start()
        let client = makeClient(broker)
        let producer = try await client.createProducer(
            topic: "persistent://public/default/cancel", options: ProducerOptions(sendTimeout: .zero, maxPendingMessages: 1))
        let first = NIOLockedValueBox<Result<PulsarMessageID, PulsarClientError>?>(nil)
        try await producer.sendAsync(PulsarOutgoingMessage("first")) { result in first.withLockedValue { $0 = result } }
        try await Self.waitUntil { broker.recorded.withLockedValue { $0.sends.count } == 1 }

        let waiting = Task { try await producer.send(PulsarOutgoingMessage("second")) }
        try await Self.waitUntil { producer.partitions[0].waitingSenders == 1 }
        waiting.cancel()
        let outcome = await waiting.result
        guard case .failure(let error as PulsarClientError) = outcome else {
            Issue.record("a cancelled waiting send must fail, got \(outcome)")
            return
        }
        #expect(error.code == .cancelled)
        #expect(producer.partitions[0].waitingSenders == 0)
        // The cancelled message never got a slot, so it was never written.
        #expect(broker.recorded.withLockedValue { $0.sends.map(\.payload) } == ["first"])

        // Closing with a drain timeout fails the unacknowledged first message; nothing hangs.
        try await producer.close(drainTimeout: .milliseconds(200))
        #expect(first.withLockedValue { $0.map { (try? $0.get()) == nil } } == true)
        await client.shutdown()
        await broker.stop()
    }

    @Test func aSendStartedInACancelledTaskDoesNotWait() async throws {
        let broker = ScriptedBroker(script: .init(ignoreSends: true))
        try await broker.start()
        let client = makeClient(broker)
        let producer = try await client.createProducer(
            topic: "persistent://public/default/cancel-early", options: ProducerOptions(sendTimeout: .zero, maxPendingMessages: 1))
        try await producer.sendAsync(PulsarOutgoingMessage("first")) { _ in }
        let outcome = await Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await producer.send(PulsarOutgoingMessage("second"))
        }.result
        guard case .failure(let error as PulsarClientError) = outcome else {
            Issue.record("expected cancelled, got \(outcome)")
            return
        }
        #expect(error.code == .cancelled)
        try await producer.close(drainTimeout: .milliseconds(200))
        await client.shutdown()
        await broker.stop()
    }

    private static func waitUntil(_ condition: @Sendable () -> Bool) async throws {
        for _ in 0..<500 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
        #expect(condition(), "condition not reached in 5 s")
    }
}
