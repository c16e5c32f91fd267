import Foundation
import Logging
import Testing

@testable import CDCRelay
import TestSupport

/// The relay against the real local stack: Postgres 15 logical replication and pulsar-lite.
/// Tests that stop the broker or Postgres are in `RelayFaultTests`.
@Suite(.serialized, .enabled(if: StackEnvironment.shouldRun), .timeLimit(.minutes(5)))
struct RelayIntegrationTests {
    @Test func tenThousandEventsFromFourConcurrentWritersArriveExactlyOnceInCommitOrder() async throws {
        let fixture = try RelayFixture()
        defer { fixture.cleanUp() }
        let collector = try await PulsarCollector(topic: fixture.topic)
        defer { collector.stop() }
        let relay = try InProcessRelay(fixture)
        try await relay.startAndWaitUntilStreaming()

        // 4 connections × 250 transactions × 10 rows; ids grow with commit order per connection,
        // and every aggregate belongs to one connection.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for connection in 0..<4 {
                group.addTask {
                    var script = ""
                    for transaction in 0..<250 {
                        let first = Int64(connection) * 1_000_000 + Int64(transaction) * 10
                        script += "BEGIN;\n" + fixture.insertSQL(firstID: first, count: 10, aggregatePrefix: "c\(connection)") + "\nCOMMIT;\n"
                    }
                    try SQL.run(script, user: "app")
                }
            }
            try await group.waitForAll()
        }
        let afterWrites = try fixture.currentWALLSN()
        let expected = Set((0..<4).flatMap { c in (0..<2500).map { Int64(c) * 1_000_000 + Int64($0) } })

        let messages = await collector.waitForDistinctEvents(expected.count, timeout: .seconds(120))
        let received = Set(messages.map(\.eventID))
        #expect(received.count == expected.count)
        #expect(expected.subtracting(received).isEmpty, "missing \(expected.subtracting(received).count) events")
        #expect(received.subtracting(expected).isEmpty, "unexpected \(received.subtracting(expected).count) events")
        #expect(messages.count == expected.count, "no duplicates without faults")

        // Per-aggregate order = commit order (ids increase with commit order within an aggregate).
        var lastByAggregate: [String: Int64] = [:]
        var outOfOrder = 0
        for message in messages {
            if let last = lastByAggregate[message.key], last >= message.eventID { outOfOrder += 1 }
            lastByAggregate[message.key] = message.eventID
        }
        #expect(outOfOrder == 0)

        let sample = try #require(messages.first { $0.eventID == 1_000_123 })
        #expect(sample.key == "c1-\(1_000_123 % 5)")
        #expect(sample.properties["event_id"] == "1000123")
        #expect(sample.properties["event_type"] == "product.created")
        #expect(sample.properties["aggregate_type"] == "product")
        #expect(sample.properties["aggregate_id"] == sample.key)
        #expect(sample.properties["traceparent"] == "00-" + String(repeating: "0", count: 32 - String(1_000_123, radix: 16).count) + String(1_000_123, radix: 16) + "-00f067aa0ba902b7-01")
        #expect(sample.properties["created_at"]?.hasSuffix("Z") == true)
        #expect(sample.producerName == SequenceIDScheme.producerName(slotName: fixture.slot))
        #expect(sample.eventTime > 0)
        #expect(sample.payload.contains("\"id\": 1000123"))

        #expect(try await waitUntil(timeout: .seconds(20)) { (try fixture.confirmedFlushLSN() ?? 0) >= afterWrites })
        #expect(relay.metrics.registry.emitToString().contains("outbox_relay_events_published_total 10000"))
        try await relay.stop()
    }

    @Test func quietOutboxInABusyDatabaseDoesNotPinWAL() async throws {
        let fixture = try RelayFixture()
        defer { fixture.cleanUp() }
        let relay = try InProcessRelay(fixture)
        try await relay.startAndWaitUntilStreaming()
        try fixture.insert(firstID: 1, count: 1)
        #expect(try await waitUntil(timeout: .seconds(20)) { relay.health.isReady })
        // ~50 MB of WAL into an unrelated table. (Measured as the WAL position's advance: the
        // relay may already have released part of it by the time the inserts are done.)
        let walBefore = try SQL.run("SELECT pg_current_wal_lsn()::text")
        for _ in 0..<10 {
            try SQL.run("INSERT INTO \(fixture.schema).noise (filler) SELECT repeat('x', 1000) FROM generate_series(1, 5000);", user: "app")
        }
        let produced = Int64(try SQL.run("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '\(walBefore)')::bigint")) ?? 0
        #expect(produced > 40_000_000, "the noise produced WAL")
        let retained = {
            Int64(try SQL.run(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint FROM pg_replication_slots WHERE slot_name = '\(fixture.slot)'"
            )) ?? Int64.max
        }
        let released = try await waitUntil(timeout: .seconds(60), interval: .seconds(1)) {
            // A checkpoint logs the running-transactions record that lets restart_lsn advance.
            // (No pg_switch_wal: it jumps the current LSN to the next 16 MB segment boundary.)
            _ = try SQL.run("CHECKPOINT;")
            return try retained() < 4_000_000
        }
        let finalRetained = try retained()
        #expect(released, "retained WAL: \(finalRetained) bytes")
        try await relay.stop()
    }

    @Test func gracefulStopThenRestartSendsNoDuplicates() async throws {
        let fixture = try RelayFixture()
        defer { fixture.cleanUp() }
        let collector = try await PulsarCollector(topic: fixture.topic)
        defer { collector.stop() }
        var relay = try InProcessRelay(fixture)
        try await relay.startAndWaitUntilStreaming()
        for batch in 0..<19 { try fixture.insert(firstID: Int64(batch) * 50, count: 50) }
        let beforeLastTransaction = try fixture.currentWALLSN()
        try fixture.insert(firstID: 19 * 50, count: 50)
        _ = await collector.waitForDistinctEvents(1000, timeout: .seconds(60))
        try await relay.stop()
        // The graceful stop's final status confirms everything the broker acked, so the slot is
        // past the start of the last transaction: a restart has nothing of it to replay.
        let confirmed = try #require(try fixture.confirmedFlushLSN())
        #expect(confirmed > beforeLastTransaction)

        relay = try InProcessRelay(fixture)
        relay.start()
        try fixture.insert(firstID: 5000, count: 100)
        _ = await collector.waitForDistinctEvents(1100, timeout: .seconds(60))
        // A replay would arrive before newer events (one ordered stream), so once a sentinel
        // inserted now has arrived, every copy the restart could send is in.
        try fixture.insert(firstID: 9000, count: 1)
        _ = await collector.waitForDistinctEvents(1101, timeout: .seconds(60))
        let all = collector.received
        #expect(Set(all.map(\.eventID)).count == 1101)
        #expect(all.count == 1101, "a graceful stop confirms everything it published")
        try await relay.stop()
    }

    /// The same with a crashed (kill -9) active relay is in `RelayProcessFaultTests`.
    @Test func secondRelayWaitsAsStandbyAndTakesOverAfterAGracefulStop() async throws {
        let fixture = try RelayFixture()
        defer { fixture.cleanUp() }
        let collector = try await PulsarCollector(topic: fixture.topic)
        defer { collector.stop() }
        let active = try InProcessRelay(fixture)
        try await active.startAndWaitUntilStreaming()
        #expect(try await waitUntil(timeout: .seconds(20)) { active.health.isReady })
        let standby = try InProcessRelay(fixture)
        standby.start()
        #expect(try await waitUntil(timeout: .seconds(20)) { standby.health.status == .standby })
        try fixture.insert(firstID: 1, count: 100)
        _ = await collector.waitForDistinctEvents(100, timeout: .seconds(30))
        #expect(standby.health.status == .standby)

        try await active.stop()
        let stoppedAt = ContinuousClock.now
        #expect(try await waitUntil(timeout: .seconds(10)) { standby.health.isReady })
        print("[timing] standby streaming \(ContinuousClock.now - stoppedAt) after the active relay stopped")
        try fixture.insert(firstID: 1000, count: 100)
        let messages = await collector.waitForDistinctEvents(200, timeout: .seconds(30))
        #expect(Set(messages.map(\.eventID)).count == 200)
        try await standby.stop()
    }
}
