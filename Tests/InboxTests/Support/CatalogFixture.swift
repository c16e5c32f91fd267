import CatalogProjector
import Foundation
import Inbox
import Logging
import NIOCore
import OutboxCore
import PostgresNIO
import PulsarClient
import ServiceLifecycle

/// A database of its own with the projector's migrations applied, a topic named after it, and
/// helpers to publish `product.created` events the way the relay does and to read the result.
struct CatalogFixture: Sendable {
    let id: String
    var database: String { "ic_\(id)" }
    var topic: String { "persistent://public/default/inbox-\(id)" }
    let logger: Logger

    init() async throws {
        try InboxTestStack.require()
        id = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        var logger = Logger(label: "inbox-test")
        logger.logLevel = .warning
        self.logger = logger
        try InboxTestStack.sql("CREATE DATABASE \(database) OWNER app")
        let postgres = makePostgres()
        guard let directory = ProjectorApplication.migrationsDirectory() else { throw InboxTestStack.Failure("sql/catalog not found") }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await postgres.run() }
            defer { group.cancelAll() }
            _ = try await Migrator(directory: directory, logger: logger).migrate(using: postgres)
        }
    }

    func makePostgres() -> PostgresClient {
        var configuration = PostgresClient.Configuration(
            host: InboxTestStack.pgHost, port: InboxTestStack.pgPort, username: "app", password: "app", database: database, tls: .disable)
        configuration.options.maximumConnections = 20
        return PostgresClient(configuration: configuration, backgroundLogger: logger)
    }

    func makePulsar() -> PulsarClient {
        var configuration = PulsarClientConfiguration(serviceURL: InboxTestStack.pulsarURI)
        configuration.initialBackoff = .milliseconds(100)
        configuration.maxBackoff = .seconds(2)
        return PulsarClient(configuration: configuration, logger: logger)
    }

    /// The payload and properties the API and the relay produce for a new product.
    static func event(productID: Int64, eventID: Int64, category: String, stock: Int64, extra: [String: String] = [:]) -> PulsarOutgoingMessage {
        let payload = #"{"aggregate_id":"\#(productID)","aggregate_type":"product","data":{"category":"\#(category)","created_at":"2026-12-02T10:00:00.000Z","description":null,"id":"\#(productID)","name":"Product \#(productID)","price":\#(productID).5,"stock":\#(stock),"updated_at":"2026-12-02T10:00:00.000Z"},"event_id":"\#(eventID)","event_type":"product.created","occurred_at":"2026-12-02T10:00:00.000Z"}"#
        var properties = ["event_id": String(eventID), "event_type": "product.created", "aggregate_type": "product", "aggregate_id": String(productID)]
        properties.merge(extra) { _, new in new }
        return PulsarOutgoingMessage(payload, key: String(productID), properties: properties)
    }

    func publish(_ messages: [PulsarOutgoingMessage]) async throws {
        let client = makePulsar()
        let producer = try await client.createProducer(topic: topic)
        for message in messages { _ = try await producer.send(message) }
        try await producer.close()
        await client.shutdown()
    }

    func value(_ sql: String) throws -> String { try InboxTestStack.sql(sql, database: database) }

    func productCount() throws -> Int { Int(try value("SELECT count(*) FROM catalog_products")) ?? -1 }

    /// `category|products|stock` lines, sorted.
    func stats() throws -> String { try value("SELECT category || '|' || products || '|' || stock FROM catalog_category_stats ORDER BY category") }

    func cleanUp() {
        _ = try? InboxTestStack.sql("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
    }
}

/// Runs services (the inbox and its Postgres client) in a group until `stop()`.
final class RunningGroup: Sendable {
    let group: ServiceGroup
    let task: Task<Void, any Error>

    init(_ services: [any Service], logger: Logger) {
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, gracefulShutdownSignals: [], logger: logger))
        self.group = group
        task = Task { try await group.run() }
    }

    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }
}

extension InboxMetrics {
    /// A counter's value from the Prometheus text, 0 when absent.
    func value(_ name: String) -> Double {
        let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }) else { return 0 }
        return Double(line.split(separator: " ").last ?? "") ?? 0
    }
}
