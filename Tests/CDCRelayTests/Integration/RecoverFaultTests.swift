import Foundation
import Testing

@testable import CDCRelay

/// A slot invalidated by `max_slot_wal_keep_size` on the real stack: the relay refuses with the
/// recovery command in its message, `cdc-relay recover` creates a new slot and republishes from
/// the table, and no event is lost. Changes a server setting, so it runs with the fault suites.
@Suite(
    .serialized,
    .enabled(if: RelayTestStack.shouldRun && ProcessInfo.processInfo.environment["REPL_FAULT_TESTS"] == "1"),
    .timeLimit(.minutes(5))
)
struct RecoverFaultTests {
    @Test func aLostSlotIsRecoveredWithoutLosingAnEvent() async throws {
        let fixture = try RelayDatabaseFixture()
        defer {
            _ = try? SQL.run("ALTER SYSTEM RESET max_slot_wal_keep_size; SELECT pg_reload_conf();")
            fixture.cleanUp()
        }
        let collector = try await SequenceCollector(topic: fixture.topic)
        defer { Task { await collector.stop() } }

        var relay = try RelayProcess(fixture)
        try await RelayProcessFaultTests.requireStatus(relay, "streaming")
        try fixture.insert(firstID: 1, transactions: 20, rowsPerTransaction: 100)
        _ = await collector.waitForDistinctEvents(2000, timeout: .seconds(60))
        #expect(try await waitUntil(timeout: .seconds(20)) {
            try SQL.run("SELECT acked_commit_time IS NOT NULL FROM outbox_relay_slots WHERE slot_name = '\(fixture.slot)'", database: fixture.database) == "t"
        }, "the relay recorded its acknowledged progress")
        #expect(await relay.terminate(timeout: .seconds(15)) == 0)

        // Committed while no relay runs: only the slot could deliver these, and it will be lost.
        try fixture.insert(firstID: 5001, transactions: 10, rowsPerTransaction: 100)
        try await invalidateSlot(fixture)

        relay = try RelayProcess(fixture)
        #expect(try await waitUntil(timeout: .seconds(30)) { !relay.isRunning }, "the relay refuses a lost slot")
        let refusal = relay.logTail(lines: 60)
        #expect(refusal.contains("is lost") && refusal.contains("cdc-relay recover"), "\(refusal)")
        await relay.kill9()

        let started = ContinuousClock.now
        let recovery = try await RelayProcess.runSubcommand(fixture, ["recover", "--no-stream", "--rate", "0"])
        let took = ContinuousClock.now - started
        #expect(recovery.code == 0, "\(recovery.output)")
        #expect(recovery.output.contains("republishing"), "\(recovery.output)")

        relay = try RelayProcess(fixture)
        try await RelayProcessFaultTests.requireStatus(relay, "streaming")
        try fixture.insert(firstID: 9001, transactions: 5, rowsPerTransaction: 100)
        let expected = Set(Int64(1)...2000).union(5001...6000).union(9001...9500)
        let messages = await collector.waitForDistinctEvents(expected.count, timeout: .seconds(90))
        var seen = Set<String>()
        let stored = messages.filter { seen.insert($0.messageID).inserted }
        let received = Set(stored.map(\.eventID))
        #expect(expected.subtracting(received).isEmpty, "lost \(expected.subtracting(received).count) events: \(expected.subtracting(received).sorted().prefix(10))")
        #expect(received.subtracting(expected).isEmpty)
        let duplicates = stored.count - received.count
        let republished = stored.filter { $0.producerName.hasPrefix("outbox-relay-backfill-recover-") }.count
        print("[timing] recover after a lost slot: \(took) (republished \(republished) rows from the table, \(duplicates) duplicates with the same event ids, 0 lost of \(expected.count))")
        #expect(await relay.terminate(timeout: .seconds(15)) == 0)
    }

    /// Makes the server drop WAL the (inactive) slot still needs: a small `max_slot_wal_keep_size`,
    /// then WAL beyond it and a checkpoint, until `wal_status` says lost.
    private func invalidateSlot(_ fixture: RelayDatabaseFixture) async throws {
        try SQL.run("ALTER SYSTEM SET max_slot_wal_keep_size = '32MB'; SELECT pg_reload_conf();")
        try SQL.run("CREATE TABLE filler (x text); ALTER TABLE filler ALTER COLUMN x SET STORAGE EXTERNAL;", database: fixture.database)
        var status = ""
        for _ in 1...6 where status != "lost" {
            try SQL.run("""
                INSERT INTO filler SELECT repeat('x', 4000) FROM generate_series(1, 12000);
                TRUNCATE filler;
                SELECT pg_switch_wal();
                CHECKPOINT;
                """, database: fixture.database)
            status = try SQL.run("SELECT wal_status FROM pg_replication_slots WHERE slot_name = '\(fixture.slot)'")
        }
        try #require(status == "lost", "the slot is \(status), not lost")
    }
}
