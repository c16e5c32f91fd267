import Foundation
import Logging
import NIOCore
import OutboxCore
import PulsarClient
import ServiceLifecycle
import Synchronization

@testable import CDCRelay
import TestSupport

/// One isolated relay setup on the local stack: its own schema with an `outbox` table, its own
/// publication, slot and topic, so suites can run side by side.
struct RelayFixture: Sendable {
    let id: String
    var schema: String { "s_\(id)" }
    var publication: String { "pub_\(id)" }
    var slot: String { "slot_\(id)" }
    var topic: String { "persistent://public/default/t_\(id)" }
    var table: OutboxTable { OutboxTable(namespace: schema, name: "outbox") }

    init() throws {
        try StackEnvironment.requireStack()
        id = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        try SQL.run("""
            CREATE SCHEMA \(schema) AUTHORIZATION app;
            CREATE TABLE \(schema).outbox (
                id bigint PRIMARY KEY, aggregate_type text NOT NULL, aggregate_id text NOT NULL,
                event_type text NOT NULL, payload jsonb NOT NULL, headers jsonb NOT NULL DEFAULT '{}'::jsonb,
                created_at timestamptz NOT NULL DEFAULT now());
            ALTER TABLE \(schema).outbox OWNER TO app;
            CREATE TABLE \(schema).noise (id bigserial PRIMARY KEY, filler text);
            ALTER TABLE \(schema).noise OWNER TO app;
            CREATE PUBLICATION \(publication) FOR TABLE \(schema).outbox WITH (publish = 'insert');
            """)
    }

    func configuration(maxInFlight: Int = 1000, statusInterval: Duration = .seconds(1)) -> OutboxConfiguration {
        var configuration = OutboxConfiguration()
        configuration.database.host = StackEnvironment.pgHost
        configuration.database.port = StackEnvironment.pgPort
        configuration.database.username = StackEnvironment.appUser
        configuration.database.password = StackEnvironment.environment["DB_PASSWORD"]
        configuration.database.database = StackEnvironment.database
        configuration.pulsar.uri = StackEnvironment.pulsarURI
        configuration.pulsar.topicName = topic
        configuration.relay.slotName = slot
        configuration.relay.publicationName = publication
        configuration.relay.replicationUsername = StackEnvironment.replicationUser
        configuration.relay.metricsPort = 0
        configuration.relay.maxInFlight = maxInFlight
        configuration.relay.statusInterval = statusInterval
        configuration.relay.shutdownTimeout = .seconds(10)
        return configuration
    }

    /// Inserts `count` rows in one transaction (ids from `firstID`), aggregate ids cycling over `aggregates`.
    func insertSQL(firstID: Int64, count: Int, aggregatePrefix: String = "agg", aggregates: Int = 5) -> String {
        """
        INSERT INTO \(schema).outbox (id, aggregate_type, aggregate_id, event_type, payload, headers)
        SELECT g, 'product', '\(aggregatePrefix)-' || (g % \(aggregates)), 'product.created',
               jsonb_build_object('id', g, 'name', 'product ' || g),
               jsonb_build_object('traceparent', '00-' || lpad(to_hex(g), 32, '0') || '-00f067aa0ba902b7-01')
        FROM generate_series(\(firstID), \(firstID + Int64(count) - 1)) AS g;
        """
    }

    func insert(firstID: Int64, count: Int) throws {
        try SQL.run(insertSQL(firstID: firstID, count: count), user: "app")
    }

    func confirmedFlushLSN() throws -> UInt64? {
        try SQL.confirmedFlushLSN(slot: slot)
    }

    func currentWALLSN() throws -> UInt64 {
        SQL.lsn(try SQL.run("SELECT pg_current_wal_insert_lsn()")) ?? 0
    }

    /// Waits until the slot's confirmed position reaches today's WAL end: everything written so
    /// far was published and acknowledged.
    func slotConfirmsCurrentWAL(within timeout: Duration) async throws -> Bool {
        let walEnd = try currentWALLSN()
        return try await waitUntil(timeout: timeout) { (try confirmedFlushLSN() ?? 0) >= walEnd }
    }

    func cleanUp() {
        SQL.dropSlot(slot)
        _ = try? SQL.run("""
            DROP PUBLICATION IF EXISTS \(publication);
            DROP SCHEMA IF EXISTS \(schema) CASCADE;
            DELETE FROM outbox_relay_slots WHERE slot_name = '\(slot)';
            """)
    }
}

/// The relay running in this process (the same wiring as `cdc-relay`), stoppable gracefully.
final class InProcessRelay: Sendable {
    let application: RelayApplication
    private let task: Mutex<Task<Void, any Error>?> = Mutex(nil)
    private let group: ServiceGroup

    /// `RELAY_TEST_LOG_LEVEL` (e.g. `info`) overrides the level when investigating a test.
    /// `configuredTable`: stream `relay.table` of the configuration instead of the fixture's outbox.
    init(_ fixture: RelayFixture, configuration: OutboxConfiguration? = nil, configuredTable: Bool = false, logLevel: Logger.Level = .warning) throws {
        var logger = Logger(label: "relay-\(fixture.id)")
        logger.logLevel = StackEnvironment.environment["RELAY_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? logLevel
        application = try RelayApplication(
            configuration: configuration ?? fixture.configuration(), logger: logger, table: configuredTable ? nil : fixture.table,
            metricsHost: "127.0.0.1")
        group = application.makeServiceGroup(gracefulShutdownSignals: [])
    }

    func start() {
        let group = self.group
        let client = application.pulsarClient
        task.withLock {
            $0 = Task {
                defer { Task { await client.shutdown() } }
                try await group.run()
            }
        }
    }

    /// Starts and waits until the relay streams from its slot (rows committed before the slot
    /// exists are not in its stream).
    func startAndWaitUntilStreaming(timeout: Duration = .seconds(30)) async throws {
        start()
        guard await waitUntil(timeout: timeout, { health.isReady }) else {
            throw RelayNotReady(status: health.status, detail: health.detail)
        }
    }

    struct RelayNotReady: Error { var status: HealthState.Status; var detail: String? }

    var health: HealthState { application.relay.health }
    var metrics: RelayMetrics { application.relay.metrics }

    /// SIGTERM-equivalent: stop reading, drain, final status; returns when the relay has stopped.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        let task = self.task.withLock { $0 }
        try await task?.value
        await application.pulsarClient.shutdown()
    }
}
