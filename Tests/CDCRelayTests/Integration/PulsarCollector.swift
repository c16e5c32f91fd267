import Foundation
import TestSupport

/// The relay's events as the official Python client reads them (Shared subscription: pulsar-lite
/// delivers each message exactly once there), collected in the background while a test runs.
final class PulsarCollector: Sendable {
    struct Received: Sendable, Hashable {
        var eventID: Int64
        var sequenceID: Int64
        var key: String
        var properties: [String: String]
        var producerName: String
        var eventTime: UInt64
        var payload: String
        var messageID: String

        init(eventID: Int64, sequenceID: Int64, key: String, properties: [String: String], producerName: String,
             eventTime: UInt64, payload: String, messageID: String) {
            self.eventID = eventID
            self.sequenceID = sequenceID
            self.key = key
            self.properties = properties
            self.producerName = producerName
            self.eventTime = eventTime
            self.payload = payload
            self.messageID = messageID
        }

        /// The official client does not expose the sequence id (see `SequenceCollector`): -1.
        init(_ message: OfficialMessage) {
            self.init(
                eventID: message.properties["event_id"].flatMap { Int64($0) } ?? -1, sequenceID: -1, key: message.key ?? "",
                properties: message.properties, producerName: message.producerName, eventTime: message.eventTime,
                payload: message.text, messageID: message.id)
        }
    }

    private let consumer: OfficialConsumer.Collector

    /// Starts the consumer and waits until it is subscribed.
    init(topic: String, subscription: String = "verify") async throws {
        consumer = try await OfficialConsumer.Collector(topic: topic, subscription: subscription)
    }

    func stop() { consumer.stop() }

    var received: [Received] { consumer.received.map(Received.init) }

    /// Waits until at least `count` distinct event ids arrived (or the timeout passed).
    func waitForDistinctEvents(_ count: Int, timeout: Duration = .seconds(60)) async -> [Received] {
        await consumer.wait(timeout: timeout) { messages in
            Set(messages.compactMap { $0.properties["event_id"] }).count >= count
        }.map(Received.init)
    }
}
