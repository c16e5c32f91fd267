import CDCRelay
import Foundation
import Inbox
import Logging
import NIOCore
import OutboxCore
import PostgresNIO
import Prometheus
import PulsarClient
import ServiceLifecycle
import UnixSignals

/// Wires `catalog-projector` from the shared configuration: its own database (`database.*`),
/// the Inbox on `projector.topic` / `projector.subscription` with the catalog handler, inbox
/// retention, and the HTTP server, in one ServiceGroup that stops gracefully on SIGTERM.
public struct ProjectorApplication: Sendable {
    public let configuration: OutboxConfiguration
    public let inbox: InboxService<CatalogHandler>
    public let pulsarClient: PulsarClient
    public let postgres: PostgresClient
    private let services: [any Service]
    private let logger: Logger

    public init(
        configuration: OutboxConfiguration, logger: Logger, handler: CatalogHandler = CatalogHandler(),
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) throws {
        self.configuration = configuration
        self.logger = logger
        let pulsarClient = PulsarClient(configuration: try RelayApplication.pulsarConfiguration(configuration), logger: logger)
        self.pulsarClient = pulsarClient
        let postgres = PostgresClient(configuration: try configuration.database.postgresClientConfiguration(), backgroundLogger: logger)
        self.postgres = postgres
        let settings = Self.inboxSettings(configuration)
        let registry = PrometheusCollectorRegistry()
        let inbox = InboxService(
            pulsar: pulsarClient, postgres: postgres, settings: settings, handler: handler,
            metrics: InboxMetrics(subscription: settings.subscription, registry: registry), logger: logger)
        self.inbox = inbox
        let retention = InboxRetentionService(
            postgres: postgres, subscription: settings.subscription, retention: settings.retention, logger: logger)
        let server = ProjectorHTTPServer.make(
            host: configuration.projector.metricsHost, port: configuration.projector.metricsPort, registry: registry,
            postgres: postgres, isConsuming: { inbox.isSubscribed }, logger: logger, onServerRunning: onServerRunning)
        services = [postgres, inbox, retention, server]
    }

    public static func inboxSettings(_ configuration: OutboxConfiguration) -> InboxSettings {
        let inbox = configuration.inbox
        let projector = configuration.projector
        return InboxSettings(
            topic: projector.effectiveTopic(pulsar: configuration.pulsar),
            subscription: projector.subscription,
            subscriptionType: projector.subscriptionType == .keyShared ? .keyShared : .failover,
            lanes: inbox.lanes,
            machine: .init(
                maxBatch: inbox.maxBatch, maxRedeliveries: inbox.maxRedeliveries,
                backoff: Backoff(initial: .milliseconds(inbox.redeliveryDelayMilliseconds), maximum: .seconds(10))),
            maxInFlight: inbox.maxInFlight,
            retention: inbox.retention)
    }

    /// `sql/catalog/`: `PROJECTOR_MIGRATIONS_DIR`, else `catalog/` in the project's `sql/`.
    public static func migrationsDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
        if let named = environment["PROJECTOR_MIGRATIONS_DIR"], !named.isEmpty { return URL(fileURLWithPath: named) }
        return Migration.locateDirectory(environment: environment)?.appendingPathComponent("catalog")
    }

    /// Applies the projector's migrations (advisory-locked: several instances may start at once).
    public func migrate() async throws -> MigrationReport {
        guard let directory = Self.migrationsDirectory() else {
            throw MigrationError(code: .directoryNotFound, migration: nil, reason: "no sql/catalog folder found; set PROJECTOR_MIGRATIONS_DIR")
        }
        let client = PostgresClient(configuration: try configuration.database.postgresClientConfiguration(), backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await Migrator(directory: directory, logger: logger).migrate(using: client)
        }
    }

    public func makeServiceGroup(gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint]) -> ServiceGroup {
        ServiceGroup(
            configuration: .init(
                services: services.map { service in
                    .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
                },
                gracefulShutdownSignals: gracefulShutdownSignals,
                logger: logger))
    }

    /// Migrates, then runs until SIGTERM/SIGINT or a fatal error.
    public func run() async throws {
        _ = try await migrate()
        do {
            try await makeServiceGroup().run()
            await pulsarClient.shutdown()
        } catch {
            await pulsarClient.shutdown()
            throw error
        }
    }
}
