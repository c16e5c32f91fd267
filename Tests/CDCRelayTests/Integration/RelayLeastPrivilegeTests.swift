import Foundation
import OutboxCore
import Testing

@testable import CDCRelay

/// The relay under a role with exactly the grants the README lists: LOGIN REPLICATION, USAGE on
/// the outbox's schema, SELECT on the outbox, SELECT and INSERT on `outbox_relay_slots` — no
/// ownership, no CREATE, not a member of the application role. The publication and the slot table
/// come from the migrations (the owner).
@Suite(.serialized, .enabled(if: RelayTestStack.shouldRun), .timeLimit(.minutes(3)))
struct RelayLeastPrivilegeTests {
    @Test func relayStreamsWithOnlyItsDocumentedGrants() async throws {
        let fixture = try RelayFixture()
        let role = "relay_least_\(fixture.id)"
        defer {
            fixture.cleanUp()
            _ = try? SQL.run("REVOKE ALL ON outbox_relay_slots FROM \(role); DROP ROLE IF EXISTS \(role);")
        }
        try SQL.run("""
            CREATE TABLE IF NOT EXISTS outbox_relay_slots (
                slot_name text PRIMARY KEY, system_identifier text NOT NULL, database text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(), created_lsn pg_lsn NOT NULL);
            CREATE ROLE \(role) LOGIN REPLICATION PASSWORD 'least';
            GRANT CONNECT ON DATABASE \(RelayTestStack.database) TO \(role);
            GRANT USAGE ON SCHEMA \(fixture.schema) TO \(role);
            GRANT SELECT ON \(fixture.schema).outbox TO \(role);
            GRANT SELECT, INSERT, UPDATE ON outbox_relay_slots TO \(role);
            """)
        #expect(try SQL.run("SELECT pg_has_role('\(role)', 'app', 'MEMBER')").trimmingCharacters(in: .whitespacesAndNewlines) == "f")
        let collector = try PulsarCollector(topic: fixture.topic)
        defer { collector.stop() }
        var configuration = fixture.configuration()
        configuration.database.username = role
        configuration.database.password = "least"
        configuration.relay.replicationUsername = role
        let relay = try InProcessRelay(fixture, configuration: configuration)
        try await relay.startAndWaitUntilStreaming()
        try fixture.insert(firstID: 1, count: 20)
        #expect(Set(await collector.waitForDistinctEvents(20, timeout: .seconds(30)).map(\.eventID)).count == 20)
        #expect(try await fixture.slotConfirmsCurrentWAL(within: .seconds(20)))
        try await relay.stop()
    }
}
