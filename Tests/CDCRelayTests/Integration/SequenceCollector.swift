import Logging
import PulsarClient
import Synchronization
import TestSupport

/// Reads a topic with our own consumer, because the official Python client does not expose a
/// message's sequence id. Shared subscription from the earliest message (pulsar-lite delivers each
/// message once there), every message acknowledged and recorded.
final class SequenceCollector: Sendable {
    private let client: PulsarClient
    private let consumer: PulsarConsumer
    private let messages = Mutex<[PulsarCollector.Received]>([])
    private let reader = Mutex<Task<Void, Never>?>(nil)

    /// Subscribes (so nothing published afterwards is missed) and starts reading.
    init(topic: String, subscription: String = "verify-sequence") async throws {
        var logger = Logger(label: "collector")
        logger.logLevel = .error
        client = PulsarClient(configuration: PulsarClientConfiguration(serviceURL: StackEnvironment.pulsarURI), logger: logger)
        consumer = try await client.subscribe(
            topic: topic, subscription: subscription,
            options: ConsumerOptions(subscriptionType: .shared, initialPosition: .earliest))
        let task = Task { [self] in
            while !Task.isCancelled {
                guard let message = try? await consumer.receive() else { return }
                let received = PulsarCollector.Received(
                    eventID: message.properties["event_id"].flatMap { Int64($0) } ?? -1,
                    sequenceID: message.sequenceID,
                    key: message.key ?? "",
                    properties: message.properties,
                    producerName: message.producerName,
                    eventTime: message.eventTime ?? 0,
                    payload: String(decoding: message.payloadBytes, as: UTF8.self),
                    messageID: "\(message.id)")
                messages.withLock { $0.append(received) }
                try? await consumer.acknowledge(message)
            }
        }
        reader.withLock { $0 = task }
    }

    var received: [PulsarCollector.Received] { messages.withLock { $0 } }

    /// Waits until at least `count` distinct event ids arrived (or the timeout passed).
    func waitForDistinctEvents(_ count: Int, timeout: Duration = .seconds(60)) async -> [PulsarCollector.Received] {
        let deadline = ContinuousClock.now + timeout
        var current = received
        while Set(current.map(\.eventID)).count < count && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(200))
            current = received
        }
        return current
    }

    func stop() async {
        reader.withLock { $0?.cancel() }
        try? await consumer.close()
        await client.shutdown()
    }
}
