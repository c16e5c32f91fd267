import NIOCore
import NIOPosix
import Testing
@testable import PulsarClient

#if canImport(FoundationEssentials)
import Foundation
#else
import Foundation
#endif

/// Broker restarts on a private pulsar-lite (private_broker.sh), never on the shared one.
@Suite("Consumer reconnect", .enabled(if: InteropStack.shouldRun), .serialized)
struct ConsumerReconnectTests {
    static let script = InteropStack.helperPath("private_broker.sh")

    @Test("after the broker is killed and restarted the consumer re-subscribes and gets every unacknowledged message")
    func resubscribeAfterBrokerRestart() async throws {
        _ = try InteropStack.requirePython()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("broker-\(UUID().uuidString.prefix(8))")
        let port = try await TLSIntegrationTests.freePort()
        let metricsPort = try await TLSIntegrationTests.freePort()
        func start() async throws {
            let output = try await HelperProcess.run("/bin/bash", [Self.script, "start", directory.path, "\(port)", "\(metricsPort)"], timeout: .seconds(60))
            try #require(output.status == 0, "private broker did not start: \(output.stderr)")
        }
        func kill() async {
            _ = try? await HelperProcess.run("/bin/bash", [Self.script, "kill", directory.path])
        }
        try await start()
        let client = try InteropStack.makeClient(url: "pulsar://127.0.0.1:\(port)") {
            $0.initialBackoff = .milliseconds(100)
            $0.maxBackoff = .seconds(1)
        }
        do {
            let topic = InteropStack.uniqueTopic("reconnect")
            let consumer = try await client.subscribe(
                topic: topic, subscription: "survivor",
                options: ConsumerOptions(subscriptionType: .shared, initialPosition: .earliest, receiverQueueSize: 10))
            let producer = try await client.createProducer(topic: topic)
            for i in 0..<20 { _ = try await producer.send(PulsarOutgoingMessage("before-\(i)")) }
            let firstHalf = try await ReceiveHelper.receiveDistinct(consumer, count: 10, timeout: .seconds(30))
            let acknowledged = Set(firstHalf.map { String(buffer: $0.payload) })

            // Acks are fire-and-forget: give the broker a moment to store them before the crash.
            try await Task.sleep(for: .milliseconds(1500))
            await kill()
            try await Task.sleep(for: .milliseconds(500))
            try await start()

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
            await kill()
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        await client.shutdown()
        await kill()
        try? FileManager.default.removeItem(at: directory)
    }
}
