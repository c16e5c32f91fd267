import CatalogProjector
import Foundation
import Inbox
import Logging
import OutboxCore
import PostgresNIO
import PulsarClient
import ServiceLifecycle

/// `inbox-bench EVENTS`: publishes EVENTS product.created messages to a fresh topic, then drains
/// the same backlog twice: with a plain consumer that only acknowledges, and with the Inbox
/// (catalog handler, its transactions in `database.*`). Prints both rates and their ratio.
/// Configuration comes from the environment like the daemons (`scripts/bench-inbox` sets it).
@main
struct InboxBench {
    static func main() async throws {
        let events = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 50_000
        let configuration = try ConfigurationLoader().load(file: nil, overrides: [])
        var logger = Logger(label: "inbox-bench")
        logger.logLevel = .warning
        let topic = "persistent://public/default/inbox-bench-\(UInt32.random(in: 0...UInt32.max))"
        let pulsar = PulsarClient(configuration: PulsarClientConfiguration(serviceURL: configuration.pulsar.uri), logger: logger)

        try await publish(events, to: topic, pulsar: pulsar)
        print("backlog: \(events) events on \(topic)")

        let plain = try await drainPlain(events, topic: topic, pulsar: pulsar)
        print(String(format: "plain consumer (ack only): %.0f events/s (%.2f s)", Double(events) / plain, plain))

        let inbox = try await drainInbox(events, topic: topic, pulsar: pulsar, configuration: configuration, logger: logger)
        print(String(format: "inbox + catalog handler:   %.0f events/s (%.2f s)", Double(events) / inbox, inbox))
        print(String(format: "ratio inbox/plain: %.2f (goal >= 0.5)", plain / inbox))
        await pulsar.shutdown()
    }

    static func publish(_ events: Int, to topic: String, pulsar: PulsarClient) async throws {
        let producer = try await pulsar.createProducer(topic: topic, options: ProducerOptions(maxPendingMessages: 2000))
        let categories = ["lighting", "kitchen", "garden", "office", "toys", "tools"]
        for n in 1...events {
            let payload = #"{"aggregate_id":"\#(n)","aggregate_type":"product","data":{"category":"\#(categories[n % categories.count])","created_at":"2026-12-02T10:00:00.000Z","description":"bench","id":"\#(n)","name":"Product \#(n)","price":\#(n % 500).99,"stock":\#(n % 40),"updated_at":"2026-12-02T10:00:00.000Z"},"event_id":"\#(n)","event_type":"product.created","occurred_at":"2026-12-02T10:00:00.000Z"}"#
            let message = PulsarOutgoingMessage(payload, key: String(n), properties: ["event_id": String(n), "event_type": "product.created"])
            try await producer.sendAsync(message) { result in
                if case .failure(let error) = result { print("publish failed: \(error)") }
            }
        }
        try await producer.flush()
        try await producer.close()
    }

    /// Seconds until `events` distinct messages were received and acknowledged.
    static func drainPlain(_ events: Int, topic: String, pulsar: PulsarClient) async throws -> Double {
        let started = ContinuousClock.now
        let consumer = try await pulsar.subscribe(
            topic: topic, subscription: "plain", options: ConsumerOptions(subscriptionType: .failover, initialPosition: .earliest))
        var seen = Set<PulsarMessageID>()
        while seen.count < events, let message = try await consumer.receive() {
            seen.insert(message.id)
            try await consumer.acknowledge(message.id)
        }
        let elapsed = ContinuousClock.now - started
        try await consumer.close()
        return seconds(elapsed)
    }

    static func drainInbox(_ events: Int, topic: String, pulsar: PulsarClient, configuration: OutboxConfiguration, logger: Logger) async throws -> Double {
        let postgres = PostgresClient(configuration: try configuration.database.postgresClientConfiguration(), backgroundLogger: logger)
        var settings = ProjectorApplication.inboxSettings(configuration)
        settings.topic = topic
        settings.subscription = "inbox"
        let inbox = InboxService(pulsar: pulsar, postgres: postgres, settings: settings, handler: CatalogHandler(), logger: logger)
        guard let directory = ProjectorApplication.migrationsDirectory() else { throw InboxError(code: .invalidSettings, detail: "sql/catalog not found") }
        let database = Task { await postgres.run() }
        defer { database.cancel() }
        _ = try await Migrator(directory: directory, logger: logger).migrate(using: postgres)
        // The clock starts with the subscription, as for the plain consumer.
        let started = ContinuousClock.now
        let group = ServiceGroup(configuration: .init(services: [.init(service: inbox)], gracefulShutdownSignals: [], logger: logger))
        let running = Task { try await group.run() }
        while processed(inbox) < Double(events) {
            try await Task.sleep(for: .milliseconds(5))
        }
        let elapsed = ContinuousClock.now - started
        await group.triggerGracefulShutdown()
        try await running.value
        return seconds(elapsed)
    }

    static func processed(_ inbox: InboxService<CatalogHandler>) -> Double {
        let text = String(decoding: inbox.metrics.registry.emitToBuffer(), as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("inbox_messages_processed_total{") }) else { return 0 }
        return Double(line.split(separator: " ").last ?? "") ?? 0
    }

    static func seconds(_ duration: Duration) -> Double {
        duration.fractionalSeconds
    }
}
