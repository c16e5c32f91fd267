import Foundation
import Logging
import OutboxCore
import PulsarClient
import Synchronization
import Testing

@testable import CDCRelay
import TestSupport

/// `relay.table` and `relay.columns.*` on the real stack: an outbox with other names and types,
/// and the seed's polling outbox migrated to the relay with every pending row published once.
@Suite(.serialized, .enabled(if: StackEnvironment.shouldRun), .timeLimit(.minutes(5)))
struct OutboxMappingIntegrationTests {
    @Test func anOutboxWithOtherNamesAndTypesStreamsFromRelayTable() async throws {
        let fixture = try RelayFixture()
        let publication = "pub_\(fixture.id)_m"
        defer {
            _ = try? SQL.run("DROP PUBLICATION IF EXISTS \(publication)")
            fixture.cleanUp()
        }
        // int4 serial id, a text payload, the key from another column, a timestamp without zone.
        try SQL.run("""
            CREATE TABLE \(fixture.schema).events (
                seq serial PRIMARY KEY, kind text NOT NULL, order_ref text NOT NULL, body text NOT NULL,
                happened timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'), note text);
            ALTER TABLE \(fixture.schema).events OWNER TO app;
            """)
        var configuration = fixture.configuration()
        configuration.relay.publicationName = publication
        configuration.relay.table = "\(fixture.schema).events"
        configuration.relay.columns.id = .column("seq")
        configuration.relay.columns.aggregateType = .constant("order")
        configuration.relay.columns.aggregateID = .column("order_ref")
        configuration.relay.columns.eventType = .column("kind")
        configuration.relay.columns.payload = .column("body")
        configuration.relay.columns.createdAt = .column("happened")
        configuration.relay.columns.headers = .absent

        let collector = try await SequenceCollector(topic: fixture.topic)
        let relay = try InProcessRelay(fixture, configuration: configuration, configuredTable: true)
        try await relay.startAndWaitUntilStreaming()
        // The bootstrap created the missing publication for relay.table (not for "outbox").
        #expect(try SQL.run("SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = '\(publication)'")
            == "\(fixture.schema).events")

        try SQL.run("""
            INSERT INTO \(fixture.schema).events (kind, order_ref, body, happened)
            SELECT 'order.paid', 'o-' || (g % 7), 'not json: ' || g, timestamp '2026-11-29 20:08:23' + g * interval '1 second'
            FROM generate_series(1, 200) AS g;
            """, user: "app")
        let messages = await collector.waitForDistinctEvents(200, timeout: .seconds(60))
        #expect(Set(messages.map(\.eventID)) == Set(1...200))
        #expect(messages.count == 200)
        let sample = try #require(messages.first { $0.eventID == 9 })
        #expect(sample.key == "o-2")
        #expect(sample.payload == "not json: 9")
        #expect(sample.properties["aggregate_type"] == "order")
        #expect(sample.properties["event_type"] == "order.paid")
        #expect(sample.properties["created_at"] == "2026-11-29T20:08:32.000000Z")
        try await relay.stop()
        await collector.stop()
    }

    /// The procedure of docs/migrating-from-polling-outbox.md, under load: writers keep inserting
    /// `pending` rows and the old poller keeps publishing until it is stopped.
    @Test func aSeedPollingOutboxMigratesWithEveryPendingRowPublishedOnce() async throws {
        let fixture = try RelayFixture()
        let publication = "pub_\(fixture.id)_seed"
        let table = "\(fixture.schema).seed_outbox"
        defer {
            _ = try? SQL.run("DROP PUBLICATION IF EXISTS \(publication)")
            fixture.cleanUp()
        }
        // The seed's table: 100 rows published long ago, 300 pending.
        try SQL.run("""
            CREATE TABLE \(table) (
                id serial PRIMARY KEY, event_type text NOT NULL, payload text NOT NULL,
                status text NOT NULL DEFAULT 'pending', created_at timestamp NOT NULL DEFAULT now(), processed_at timestamp);
            ALTER TABLE \(table) OWNER TO app;
            INSERT INTO \(table) (event_type, payload, status, processed_at)
            SELECT 'product.created', '{"n":' || g || '}', 'processed', now() FROM generate_series(1, 100) AS g;
            INSERT INTO \(table) (event_type, payload) SELECT 'product.created', '{"n":' || g || '}' FROM generate_series(101, 400) AS g;
            """, user: "app")
        let collector = try await SequenceCollector(topic: fixture.topic)
        let stop = StopFlag()
        let stopPoller = StopFlag()

        // Writers: the old application, unchanged (it inserts 'pending' rows).
        let writer = Task {
            var written = 0
            while !stop.isSet {
                let script = (0..<10).map { _ in
                    "INSERT INTO \(table) (event_type, payload, status) VALUES ('product.created', '{\"w\":1}', 'pending');"
                }.joined(separator: "\n")
                try SQL.run(script, user: "app")
                written += 10
            }
            return written
        }
        // The old poller: publishes pending rows, then marks them processed.
        let poller = Task {
            let client = PulsarClient(configuration: PulsarClientConfiguration(serviceURL: StackEnvironment.pulsarURI), logger: Logger(label: "poller"))
            defer { Task { await client.shutdown() } }
            let producer = try await client.createProducer(topic: fixture.topic)
            var published: [Int64] = []
            while !stopPoller.isSet {
                let rows = try SQL.run("SELECT id || '|' || payload FROM \(table) WHERE status = 'pending' ORDER BY id LIMIT 25", user: "app")
                    .split(separator: "\n").compactMap { line -> (Int64, String)? in
                        guard let bar = line.firstIndex(of: "|"), let id = Int64(line[..<bar]) else { return nil }
                        return (id, String(line[line.index(after: bar)...]))
                    }
                if rows.isEmpty {
                    try await Task.sleep(for: .milliseconds(50))  // the poller's poll interval
                    continue
                }
                for (id, payload) in rows {
                    _ = try await producer.send(PulsarOutgoingMessage(payload, key: String(id), properties: ["event_id": String(id)]))
                }
                try SQL.run("UPDATE \(table) SET status = 'processed', processed_at = now() WHERE id IN (\(rows.map { String($0.0) }.joined(separator: ",")))", user: "app")
                published += rows.map(\.0)
            }
            try await producer.close()
            return published
        }
        defer {
            stop.set()
            stopPoller.set()
        }
        #expect(try await waitUntil(timeout: .seconds(60)) {
            Int(try SQL.run("SELECT count(*) FROM \(table) WHERE status = 'processed'")) ?? 0 >= 150
        })

        // 1. The publication passes only rows marked for the relay; 2. the relay creates its slot.
        try SQL.run("CREATE PUBLICATION \(publication) FOR TABLE \(table) WHERE (status = 'relay') WITH (publish = 'insert')")
        var configuration = fixture.configuration()
        configuration.relay.publicationName = publication
        configuration.relay.table = table
        configuration.relay.columns.aggregateType = .constant("product")
        configuration.relay.columns.aggregateID = .absent
        configuration.relay.columns.headers = .absent
        let relay = try InProcessRelay(fixture, configuration: configuration, configuredTable: true)
        try await relay.startAndWaitUntilStreaming()

        // 3. The hand-over trigger: from its commit on every new row belongs to the relay.
        try SQL.run("""
            CREATE FUNCTION \(fixture.schema).outbox_handover() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN NEW.status := 'relay'; RETURN NEW; END $$;
            CREATE TRIGGER outbox_handover BEFORE INSERT ON \(table) FOR EACH ROW EXECUTE FUNCTION \(fixture.schema).outbox_handover();
            """)
        let relayRowsAfterTrigger = Int(try SQL.run("SELECT count(*) FROM \(table) WHERE status = 'relay'")) ?? -1
        #expect(relayRowsAfterTrigger >= 0)

        // 4. Stop the poller (its last batch finishes), 5. move the rows it left pending.
        stopPoller.set()
        let polled = try await poller.value
        let moved = try SQL.run("""
            WITH moved AS (DELETE FROM \(table) WHERE status = 'pending' RETURNING *)
            INSERT INTO \(table) SELECT * FROM moved RETURNING id;
            """).split(separator: "\n").count
        #expect(try await waitUntil(timeout: .seconds(30)) {
            Int(try SQL.run("SELECT count(*) FROM \(table) WHERE status = 'relay'")) ?? 0 >= moved + 100
        })
        stop.set()
        let written = try await writer.value

        #expect(try SQL.run("SELECT count(*) FROM \(table) WHERE status = 'pending'") == "0")
        let relayIDs = Set(try SQL.run("SELECT id FROM \(table) WHERE status = 'relay'").split(separator: "\n").compactMap { Int64($0) })
        let expected = Set(polled).union(relayIDs)
        #expect(Set(polled).isDisjoint(with: relayIDs))
        #expect(expected.count == 300 + written, "every row but the 100 published before the test")
        #expect(try await fixture.slotConfirmsCurrentWAL(within: .seconds(60)))
        let messages = await collector.waitForDistinctEvents(expected.count, timeout: .seconds(60))
        let received = Set(messages.map(\.eventID))
        #expect(expected.subtracting(received).isEmpty, "lost \(expected.subtracting(received).count)")
        #expect(received.subtracting(expected).isEmpty, "published again: \(received.subtracting(expected).sorted().prefix(10))")
        #expect(messages.count == expected.count, "\(messages.count - received.count) published twice")
        print("polling migration: \(polled.count) events by the poller, \(moved) pending rows moved, \(relayIDs.count) by the relay, \(written) written during the test")
        try await relay.stop()
        await collector.stop()
    }
}

final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}
