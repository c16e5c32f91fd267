import Logging
import PulsarClient

/// Publishes messages to the subscription's dead-letter topic with the properties Pulsar's own
/// clients add (`REAL_TOPIC`, `ORIGIN_MESSAGE_ID`), and reports success only on broker receipt.
actor DeadLetterPublisher {
    private let client: PulsarClient
    private let topic: String
    private let sourceTopic: String
    private let logger: Logger
    private var producer: PulsarProducer?

    init(client: PulsarClient, topic: String, sourceTopic: String, logger: Logger) {
        self.client = client
        self.topic = topic
        self.sourceTopic = sourceTopic
        self.logger = logger
    }

    func publish(_ entry: InboxEntry, reason: InboxDeadLetterReason) async -> Bool {
        do {
            let producer = try await producerOrCreate()
            var properties = entry.message.properties
            properties["REAL_TOPIC"] = sourceTopic
            properties["ORIGIN_MESSAGE_ID"] = "\(entry.id)"
            properties["DEAD_LETTER_REASON"] = reason.description
            let outgoing = PulsarOutgoingMessage(
                payload: entry.message.payload, key: entry.message.key, properties: properties, eventTime: entry.message.eventTime)
            let id = try await producer.send(outgoing)
            logger.warning("dead-lettered a message", metadata: [
                "topic": "\(topic)", "origin": "\(entry.id)", "dead_letter_id": "\(id)",
                "event_id": "\(entry.eventID.map(String.init) ?? "none")", "reason": "\(reason.description)",
            ])
            return true
        } catch {
            logger.error("dead-letter publish failed; retrying", metadata: ["topic": "\(topic)", "error": "\(error)"])
            return false
        }
    }

    func close() async {
        try? await producer?.close()
        producer = nil
    }

    private func producerOrCreate() async throws -> PulsarProducer {
        if let producer { return producer }
        let created = try await client.createProducer(topic: topic)
        producer = created
        return created
    }
}
