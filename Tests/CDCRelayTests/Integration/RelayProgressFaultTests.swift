import Foundation
import Testing

@testable import CDCRelay

/// Postgres 15 writes a slot's confirmed position to disk only at checkpoints, so after a crash
/// (`pg_ctl -m immediate`) the slot goes back to the last checkpoint. The relay records its
/// acknowledged position as a committed row about once a second and starts from the newer of the
/// two, so a crash replays about a second of events, not minutes.
@Suite(
    .serialized,
    .enabled(if: RelayTestStack.shouldRun && ProcessInfo.processInfo.environment["REPL_FAULT_TESTS"] == "1"),
    .timeLimit(.minutes(4))
)
struct RelayProgressFaultTests {
    @Test func aPostgresCrashReplaysAboutASecondOfEventsNotEverythingSinceTheCheckpoint() async throws {
        let fixture = try RelayDatabaseFixture()
        defer { fixture.cleanUp() }
        let collector = try await SequenceCollector(topic: fixture.topic)
        do {
            try await crashTwice(fixture, collector)
        } catch {
            await collector.stop()
            throw error
        }
        await collector.stop()
    }

    private func crashTwice(_ fixture: RelayDatabaseFixture, _ collector: SequenceCollector) async throws {
        let relay = try RelayProcess(fixture, maxInFlight: 200)
        try await RelayProcessFaultTests.requireStatus(relay, "streaming")
        // Nothing may checkpoint the slot's position meanwhile: the test is about the crash.
        try SQL.run("CHECKPOINT")
        let load = InsertLoad(fixture, survivesFailures: true)
        let started = ContinuousClock.now
        load.start()
        var slotWentBackBy: [UInt64] = []
        for _ in 1...2 {
            // Long enough under load that the slot's on-disk position is thousands of events old.
            try await Task.sleep(for: .seconds(10))
            let recordedBefore = try #require(SQL.lsn(try recordedLSN(fixture)))
            try await RelayTestStack.stack("pg-crash")
            try await RelayTestStack.stack("pg-start")
            // What the slot alone would restart from, read before the relay reconnects to it.
            if let slot = try? fixture.confirmedFlushLSN(), recordedBefore > slot {
                slotWentBackBy.append(recordedBefore - slot)
            }
            try await RelayProcessFaultTests.requireStatus(relay, "streaming", timeout: .seconds(60))
            #expect(try await waitUntil(timeout: .seconds(30)) { (SQL.lsn(try recordedLSN(fixture)) ?? 0) > recordedBefore },
                    "the relay records its progress again after the crash")
        }
        try await Task.sleep(for: .seconds(1))
        let inserted = try await load.stop()
        let elapsed = ContinuousClock.now - started
        let uncertain = load.uncertain
        #expect(inserted.count > 3000, "the load kept inserting (\(inserted.count) rows)")

        var seen = Set<String>()
        let messages = await collector.waitForDistinctEvents(inserted.count, timeout: .seconds(90)).filter { seen.insert($0.messageID).inserted }
        let received = Set(messages.map(\.eventID))
        #expect(inserted.subtracting(received).isEmpty, "lost \(inserted.subtracting(received).count) of \(inserted.count) committed events")
        #expect(received.subtracting(inserted).subtracting(uncertain).isEmpty, "events that were never inserted")
        let duplicates = messages.count - received.count
        let perSecond = Double(inserted.count) / (Double(elapsed.components.seconds) + 1)
        // About a second per crash, plus what was in flight: generous, yet far below the thousands
        // of events the slot's own position would replay.
        let bound = Int(perSecond * 2.5) * 2 + 2 * 200
        print("[timing] pg crash ×2 under load: \(inserted.count) events (\(Int(perSecond))/s), \(duplicates) duplicates (bound \(bound)), none lost; the slot alone went back \(slotWentBackBy.map { "\($0 / 1024) KiB" }) of WAL")
        #expect(duplicates <= bound, "\(duplicates) duplicates for two crashes at \(Int(perSecond)) events/s")

        let exit = await relay.terminate(timeout: .seconds(15))
        #expect(exit == 0, "SIGTERM exit: \(String(describing: exit))\n\(relay.logTail())")
    }

    private func recordedLSN(_ fixture: RelayDatabaseFixture) throws -> String {
        try SQL.run("SELECT coalesce(acked_lsn::text, '0/0') FROM outbox_relay_slots WHERE slot_name = '\(fixture.slot)'", database: fixture.database)
    }
}
