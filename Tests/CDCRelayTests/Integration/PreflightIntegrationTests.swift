import Foundation
import Testing

@testable import CDCRelay
import TestSupport

/// `cdc-relay check` (the built executable) against the real stack: a healthy setup exits 0, a
/// missing grant or a missing column is named and exits 1. `wal_level` is read from the running
/// server (logical on the stack); its `replica` case is decided in `PreflightCheckTests`.
@Suite(.serialized, .enabled(if: StackEnvironment.shouldRun), .timeLimit(.minutes(3)))
struct PreflightIntegrationTests {
    struct Outcome { var code: Int32; var output: String }

    static func check(_ fixture: RelayFixture, _ extra: [String] = [], user: String? = nil, password: String? = nil) throws -> Outcome {
        let logPath = FileManager.default.temporaryDirectory.appendingPathComponent("check-\(UUID().uuidString).out").path
        defer { try? FileManager.default.removeItem(atPath: logPath) }
        var environment = [
            "RELAY_SLOT_NAME": fixture.slot,
            "RELAY_PUBLICATION_NAME": fixture.publication,
            "RELAY_REPLICATION_USERNAME": user ?? StackEnvironment.replicationUser,
            "RELAY_TABLE": "\(fixture.schema).outbox",
            "PULSAR_TOPIC_NAME": fixture.topic,
        ]
        if let password { environment["DB_PASSWORD"] = password; environment["DATABASE_PASSWORD"] = password }
        let arguments = ["check"] + extra.flatMap { ["--set", $0] }
        let pid = try Spawn.start(try RelayProcess.executable().path, arguments, environment: environment, logPath: logPath)
        let code = Spawn.exitCode(Spawn.waitBlocking(pid))
        return Outcome(code: code, output: (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")
    }

    static func line(_ output: String, _ check: String) -> String {
        output.split(separator: "\n").first { $0.hasPrefix(check + " ") }.map(String.init) ?? ""
    }

    @Test func aHealthyStackPassesAndShowsEveryCheck() throws {
        let fixture = try RelayFixture()
        defer { fixture.cleanUp() }
        let outcome = try Self.check(fixture)
        #expect(outcome.code == 0, "\(outcome.output)")
        for check in ["connection", "wal_level", "role", "grant", "table", "column id", "column payload", "publication", "slot", "max_slot_wal_keep_size", "broker"] {
            #expect(!Self.line(outcome.output, check).isEmpty, "no \(check) line in:\n\(outcome.output)")
        }
        #expect(Self.line(outcome.output, "wal_level").contains("OK") && Self.line(outcome.output, "wal_level").contains("logical"))
        #expect(Self.line(outcome.output, "broker").contains("OK"))
        #expect(outcome.output.contains("ready: the relay can stream"))
    }

    @Test func aMissingGrantIsNamedAndBlocks() throws {
        let fixture = try RelayFixture()
        let role = "relay_check_\(fixture.id)"
        defer {
            fixture.cleanUp()
            _ = try? SQL.run("REVOKE ALL ON outbox_relay_slots FROM \(role); DROP ROLE IF EXISTS \(role);")
        }
        // README's grants minus INSERT on outbox_relay_slots.
        try SQL.run("""
            CREATE TABLE IF NOT EXISTS outbox_relay_slots (
                slot_name text PRIMARY KEY, system_identifier text NOT NULL, database text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(), created_lsn pg_lsn NOT NULL);
            CREATE ROLE \(role) LOGIN REPLICATION PASSWORD 'check';
            GRANT CONNECT ON DATABASE \(StackEnvironment.database) TO \(role);
            GRANT USAGE ON SCHEMA \(fixture.schema) TO \(role);
            GRANT SELECT ON \(fixture.schema).outbox TO \(role);
            GRANT SELECT ON outbox_relay_slots TO \(role);
            """)
        let outcome = try Self.check(fixture, ["database.username=\(role)"], user: role, password: "check")
        #expect(outcome.code == 1, "\(outcome.output)")
        #expect(outcome.output.contains("BLOCKER") && outcome.output.contains("\(role) lacks INSERT on outbox_relay_slots"), "\(outcome.output)")
        #expect(outcome.output.contains("not ready: 1 blocker"), "\(outcome.output)")
    }

    @Test func aMissingColumnIsNamedAndBlocks() throws {
        let fixture = try RelayFixture()
        defer { fixture.cleanUp() }
        let outcome = try Self.check(fixture, ["relay.columns.payload=body", "relay.columns.id=seq"])
        #expect(outcome.code == 1, "\(outcome.output)")
        #expect(Self.line(outcome.output, "column payload").contains("has no column body (relay.columns.payload)"), "\(outcome.output)")
        #expect(Self.line(outcome.output, "column id").contains("BLOCKER"), "\(outcome.output)")
    }

    @Test func aColumnOfAnUnusableTypeBlocks() throws {
        let fixture = try RelayFixture()
        defer { fixture.cleanUp() }
        // aggregate_id is text: as the event id it cannot be parsed as an integer.
        let outcome = try Self.check(fixture, ["relay.columns.id=aggregate_id"])
        #expect(outcome.code == 1)
        #expect(Self.line(outcome.output, "column id").contains("aggregate_id is text: the event id must be bigint"), "\(outcome.output)")
    }

    /// A range-partitioned outbox: `check` blocks without `publish_via_partition_root`; with it
    /// the relay streams rows of every partition as the root table (pgoutput names the root).
    @Test func aPartitionedOutboxNeedsPublishViaRootAndStreamsAsTheRoot() async throws {
        let fixture = try RelayFixture()
        let publication = "pub_\(fixture.id)_part"
        defer {
            _ = try? SQL.run("DROP PUBLICATION IF EXISTS \(publication)")
            fixture.cleanUp()
        }
        try SQL.run("""
            CREATE TABLE \(fixture.schema).parted (
                id bigint NOT NULL, aggregate_type text NOT NULL, aggregate_id text NOT NULL, event_type text NOT NULL,
                payload jsonb NOT NULL, headers jsonb NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (id)) PARTITION BY RANGE (id);
            CREATE TABLE \(fixture.schema).parted_a PARTITION OF \(fixture.schema).parted FOR VALUES FROM (0) TO (1000);
            CREATE TABLE \(fixture.schema).parted_b PARTITION OF \(fixture.schema).parted FOR VALUES FROM (1000) TO (2000);
            ALTER TABLE \(fixture.schema).parted OWNER TO app;
            CREATE PUBLICATION \(publication) FOR TABLE \(fixture.schema).parted WITH (publish = 'insert');
            """)
        let extra = ["relay.table=\(fixture.schema).parted", "relay.publication_name=\(publication)"]
        let without = try Self.check(fixture, extra)
        #expect(without.code == 1)
        #expect(Self.line(without.output, "publication").contains("publish_via_partition_root = true"), "\(without.output)")

        try SQL.run("ALTER PUBLICATION \(publication) SET (publish_via_partition_root = true)")
        let with = try Self.check(fixture, extra)
        #expect(with.code == 0, "\(with.output)")
        #expect(Self.line(with.output, "table").contains("(partitioned)"))

        let collector = try await SequenceCollector(topic: fixture.topic)
        var configuration = fixture.configuration()
        configuration.relay.table = "\(fixture.schema).parted"
        configuration.relay.publicationName = publication
        let relay = try InProcessRelay(fixture, configuration: configuration, configuredTable: true)
        try await relay.startAndWaitUntilStreaming()
        try SQL.run("""
            INSERT INTO \(fixture.schema).parted (id, aggregate_type, aggregate_id, event_type, payload)
            SELECT g, 'product', 'a-' || (g % 3), 'product.created', jsonb_build_object('id', g) FROM generate_series(990, 1009) AS g;
            """, user: "app")
        let messages = await collector.waitForDistinctEvents(20, timeout: .seconds(30))
        #expect(Set(messages.map(\.eventID)) == Set(990...1009), "rows of both partitions")
        #expect(messages.count == 20)
        #expect(relay.metrics.registry.emitToString().contains("outbox_relay_ignored_inserts_total 0"), "no insert seen under a partition's name")
        try await relay.stop()
        await collector.stop()
    }

    @Test func anUnreachableBrokerBlocks() throws {
        let fixture = try RelayFixture()
        defer { fixture.cleanUp() }
        let outcome = try Self.check(fixture, ["pulsar.uri=pulsar://127.0.0.1:1"])
        #expect(outcome.code == 1)
        #expect(Self.line(outcome.output, "broker").contains("BLOCKER"), "\(outcome.output)")
    }
}
