import Foundation
import Testing

@testable import CDCRelay

/// `cdc-relay backfill` against the real stack: rows that were in the outbox before the slot
/// existed reach the topic once, in per-aggregate order, and the stream continues where the
/// backfill's snapshot ended.
@Suite(.serialized, .enabled(if: RelayTestStack.shouldRun), .timeLimit(.minutes(5)))
struct BackfillIntegrationTests {
    @Test func preexistingRowsAndLiveInsertsArriveExactlyOnceInPerAggregateOrder() async throws {
        let fixture = try RelayDatabaseFixture()
        defer { fixture.cleanUp() }
        let preexisting: Int64 = 100_000
        try fixture.insert(firstID: 1, transactions: 10, rowsPerTransaction: Int(preexisting / 10))
        let collector = try await SequenceCollector(topic: fixture.topic)
        defer { Task { await collector.stop() } }

        // Live inserts go on through the backfill and after it.
        let load = InsertLoad(fixture, firstID: 10_000_000)
        load.start()
        let backfill = try await RelayProcess.runSubcommand(fixture, ["backfill", "--rate", "0"])
        #expect(backfill.code == 0, "\(backfill.output)")
        // The pre-existing rows plus the live ones that committed before the slot's snapshot.
        let inSnapshot = try #require(Self.total(backfill.output))
        #expect(inSnapshot >= preexisting && backfill.output.contains("\(inSnapshot)/\(inSnapshot) rows"), "\(backfill.output)")
        #expect(backfill.output.contains("in the snapshot of the new slot"), "\(backfill.output)")

        let relay = try RelayProcess(fixture)
        try await RelayProcessFaultTests.requireStatus(relay, "streaming")
        let liveDuringBackfill = try #require(Int(try SQL.run("SELECT count(*) FROM outbox WHERE id >= 10000000", database: fixture.database)))
        #expect(try await waitUntil(timeout: .seconds(20)) {
            try Int(SQL.run("SELECT count(*) FROM outbox WHERE id >= 10000000", database: fixture.database)) ?? 0 > liveDuringBackfill + 200
        })
        let live = try await load.stop()
        let expected = Set(1...preexisting).union(live)
        let messages = await collector.waitForDistinctEvents(expected.count, timeout: .seconds(120))
        var seen = Set<String>()
        let stored = messages.filter { seen.insert($0.messageID).inserted }
        let received = Set(stored.map(\.eventID))
        #expect(expected.subtracting(received).isEmpty, "lost \(expected.subtracting(received).count) of \(expected.count)")
        #expect(received.subtracting(expected).isEmpty, "events that were never inserted")
        #expect(stored.count == received.count, "\(stored.count - received.count) duplicates without a crash")
        Self.expectPerAggregateOrder(stored)

        let backfilled = stored.filter { $0.eventID <= preexisting }
        #expect(backfilled.allSatisfy { $0.sequenceID == $0.eventID }, "a backfilled event's sequence id is its event id")
        #expect(Set(backfilled.map(\.producerName)) == [TableBackfill.producerName(backfill: "\(fixture.slot)-initial")])
        print("[timing] backfill: \(preexisting) rows while \(live.count) live inserts went on; \(Self.rateLine(backfill.output))")

        // A rerun of a finished backfill publishes nothing.
        let again = try await RelayProcess.runSubcommand(fixture, ["backfill", "--rate", "0"])
        #expect(again.code == 0 && again.output.contains("already finished"), "\(again.output)")
        #expect(await relay.terminate(timeout: .seconds(15)) == 0)
    }

    @Test func killedMidwayARerunPublishesTheRestUnderTheSameSequenceIDs() async throws {
        let fixture = try RelayDatabaseFixture()
        defer { fixture.cleanUp() }
        let rows: Int64 = 40_000
        try fixture.insert(firstID: 1, transactions: 4, rowsPerTransaction: Int(rows / 4))
        let collector = try await SequenceCollector(topic: fixture.topic)
        defer { Task { await collector.stop() } }

        let log = FileManager.default.temporaryDirectory.appendingPathComponent("backfill-\(fixture.id).log").path
        let pid = try RelayProcess.startSubcommand(fixture, ["backfill", "--rate", "8000"], logPath: log)
        let midway = try await waitUntil(timeout: .seconds(60)) {
            // The table appears once the first run committed its manifest.
            (try? SQL.run("SELECT coalesce(max(done), 0) FROM outbox_relay_backfills", database: fixture.database)).flatMap { Int($0) } ?? 0 >= 10_000
        }
        kill(pid, SIGKILL)
        _ = await Spawn.wait(pid)
        #expect(midway, "the first run made progress: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        let doneAtKill = try SQL.run("SELECT done FROM outbox_relay_backfills", database: fixture.database)

        let rerun = try await RelayProcess.runSubcommand(fixture, ["backfill", "--rate", "0"])
        #expect(rerun.code == 0, "\(rerun.output)")
        #expect(rerun.output.contains("continuing after id"), "\(rerun.output)")

        let messages = await collector.waitForDistinctEvents(Int(rows), timeout: .seconds(90))
        var seen = Set<String>()
        let stored = messages.filter { seen.insert($0.messageID).inserted }
        let received = Set(stored.map(\.eventID))
        #expect(Set(1...rows).subtracting(received).isEmpty, "lost \(Set(1...rows).subtracting(received).count) rows")
        var replayed = 0
        for (eventID, copies) in Dictionary(grouping: stored, by: \.eventID) where copies.count > 1 {
            replayed += copies.count - 1
            #expect(Set(copies.map(\.sequenceID)) == [eventID] && Set(copies.map(\.producerName)).count == 1,
                    "event \(eventID) replayed under other ids")
        }
        // Only what was sent after the last committed progress comes again: at most the pages
        // between two commits (5 × 1000) plus the next page read ahead.
        #expect(replayed <= 6000, "\(replayed) replays")
        print("[timing] backfill killed at \(doneAtKill) rows done: rerun published the rest, \(replayed) replays with the same sequence ids; \(Self.rateLine(rerun.output))")
    }

    /// For each key, events arrive in increasing id order (first copies; replays may repeat).
    static func expectPerAggregateOrder(_ messages: [PulsarCollector.Received]) {
        var last: [String: Int64] = [:]
        var violations = 0
        for message in messages {
            if let previous = last[message.key], message.eventID <= previous { violations += 1 }
            last[message.key] = max(last[message.key] ?? .min, message.eventID)
        }
        #expect(violations == 0, "\(violations) events arrived before an older event of their aggregate")
    }

    /// `backfill NAME: N rows (…)`: the manifest's size.
    static func total(_ output: String) -> Int64? {
        guard let line = output.split(separator: "\n").first(where: { $0.contains(" rows (") && !$0.contains("/") }),
              let colon = line.range(of: ": ")
        else { return nil }
        return Int64(line[colon.upperBound...].prefix { $0.isNumber })
    }

    static func rateLine(_ output: String) -> String {
        output.split(separator: "\n").last { $0.contains("published") }.map(String.init) ?? "-"
    }
}
