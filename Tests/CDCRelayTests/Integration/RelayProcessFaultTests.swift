import Foundation
import Synchronization
import Testing

@testable import CDCRelay

/// The real `cdc-relay` executable killed with SIGKILL. Nothing shared is stopped, but the tests
/// are long and load the machine, so they run with the fault suites (REPL_FAULT_TESTS=1).
@Suite(
    .serialized,
    .enabled(if: RelayTestStack.shouldRun && ProcessInfo.processInfo.environment["REPL_FAULT_TESTS"] == "1"),
    .timeLimit(.minutes(3))
)
struct RelayProcessFaultTests {
    @Test func killedFiveTimesUnderLoadLosesNothingAndReplaysOnlyUnconfirmedEvents() async throws {
        let fixture = try RelayDatabaseFixture()
        defer { fixture.cleanUp() }
        // Our consumer: the check needs each message's sequence id.
        let collector = try await SequenceCollector(topic: fixture.topic)
        do {
            try await killFiveTimes(fixture, collector)
        } catch {
            await collector.stop()
            throw error
        }
        await collector.stop()
    }

    private func killFiveTimes(_ fixture: RelayDatabaseFixture, _ collector: SequenceCollector) async throws {
        var relay = try RelayProcess(fixture, maxInFlight: 200)
        try await Self.requireStatus(relay, "streaming")

        let load = InsertLoad(fixture)
        load.start()
        struct Kill { var confirmed: UInt64; var walEnd: UInt64 }
        var kills: [Kill] = []
        for _ in 1...5 {
            try await Task.sleep(for: .milliseconds(Int.random(in: 300...2000)))
            await relay.kill9()
            // Once the walsender noticed, the slot's position is final for this kill.
            #expect(try await waitUntil(timeout: .seconds(10)) { try !fixture.slotIsActive() })
            kills.append(Kill(confirmed: try #require(try fixture.confirmedFlushLSN()), walEnd: try fixture.currentWALLSN()))
            relay = try RelayProcess(fixture, maxInFlight: 200)
            try await Self.requireStatus(relay, "streaming")
        }
        try await Task.sleep(for: .seconds(1))
        let inserted = try await load.stop()
        let afterWrites = try fixture.currentWALLSN()
        #expect(inserted.count > 500, "the load kept inserting (\(inserted.count) rows)")

        // A redelivery by the broker (same message id) is not a publish: count each stored message once.
        var seen = Set<String>()
        let messages = await collector.waitForDistinctEvents(inserted.count, timeout: .seconds(60)).filter { seen.insert($0.messageID).inserted }
        let received = Set(messages.map(\.eventID))
        #expect(inserted.subtracting(received).isEmpty, "lost \(inserted.subtracting(received).count) of \(inserted.count) events")
        #expect(received.subtracting(inserted).isEmpty, "unexpected events")
        #expect(try await waitUntil(timeout: .seconds(20)) { (try fixture.confirmedFlushLSN() ?? 0) >= afterWrites })

        // A duplicate is a replay of an event that was not confirmed when a relay died: same ids,
        // and its transaction committed before that kill but at or after the slot's position.
        let copies = Dictionary(grouping: messages, by: \.eventID)
        var duplicates = 0
        for (eventID, group) in copies where group.count > 1 {
            duplicates += group.count - 1
            let original = group[0]
            let identical = group.allSatisfy { copy in
                copy.sequenceID == original.sequenceID && copy.key == original.key && copy.payload == original.payload
            }
            #expect(identical, "event \(eventID) replayed with different ids or content")
            let commitLSN = UInt64(original.sequenceID) >> SequenceIDScheme.ordinalBits
            let unconfirmedAtKills = kills.filter { commitLSN >= $0.confirmed && commitLSN < $0.walEnd }.count
            #expect(group.count - 1 <= unconfirmedAtKills, "event \(eventID) (commit \(LSNFormat.string(commitLSN))) arrived \(group.count) times")
        }
        print("[timing] kill -9 ×5: \(inserted.count) events, \(duplicates) duplicates from replays, none lost")

        let exit = await relay.terminate(timeout: .seconds(15))
        #expect(exit == 0, "SIGTERM exit: \(String(describing: exit))\n\(relay.logTail())")
    }

    @Test func standbyTakesOverWithinTenSecondsWhenTheActiveRelayIsKilled() async throws {
        let fixture = try RelayDatabaseFixture()
        defer { fixture.cleanUp() }
        let collector = try PulsarCollector(topic: fixture.topic)
        defer { collector.stop() }
        let active = try RelayProcess(fixture)
        try await Self.requireStatus(active, "streaming")
        let standby = try RelayProcess(fixture)
        try await Self.requireStatus(standby, "standby")

        try fixture.insert(firstID: 1, transactions: 4, rowsPerTransaction: 25)
        #expect(Set(await collector.waitForDistinctEvents(100, timeout: .seconds(30)).map(\.eventID)).count == 100)
        #expect(await standby.status() == "standby", "only one relay streams")

        await active.kill9()
        let killed = ContinuousClock.now
        #expect(await standby.waitForStatus("streaming", timeout: .seconds(10)), "\(standby.logTail())")
        let takeover = ContinuousClock.now - killed
        try fixture.insert(firstID: 1000, transactions: 4, rowsPerTransaction: 25)
        let messages = await collector.waitForDistinctEvents(200, timeout: .seconds(30))
        let expected: Set<Int64> = Set(1...100).union(1000..<1100)
        let received = Set(messages.map(\.eventID))
        #expect(received == expected)
        print("[timing] standby streaming \(takeover) after kill -9 of the active relay")
        #expect(await standby.terminate(timeout: .seconds(15)) == 0)
    }

    static func requireStatus(_ relay: RelayProcess, _ status: String, timeout: Duration = .seconds(30)) async throws {
        guard await relay.waitForStatus(status, timeout: timeout) else {
            let current = await relay.status() ?? "no answer"
            Issue.record("relay not \(status) within \(timeout) (\(current)):\n\(relay.logTail())")
            throw Spawn.Failure(description: "relay not \(status)")
        }
    }
}

/// Continuous inserts from a thread of its own: small transactions with short pauses, ids counting
/// up, until stopped. With `survivesFailures` (Postgres crashes meanwhile) a failed batch is kept
/// aside as uncertain (its COMMIT may or may not have happened) and the load goes on.
final class InsertLoad: Sendable {
    private let fixture: RelayDatabaseFixture
    private let survivesFailures: Bool
    private let state = Mutex<(stop: Bool, inserted: Set<Int64>, uncertain: Set<Int64>, error: String?, done: CheckedContinuation<Void, Never>?, finished: Bool)>(
        (false, [], [], nil, nil, false))

    private let firstID: Int64

    init(_ fixture: RelayDatabaseFixture, firstID: Int64 = 1, survivesFailures: Bool = false) {
        self.fixture = fixture
        self.firstID = firstID
        self.survivesFailures = survivesFailures
    }

    /// Ids of batches that failed while Postgres was down: committed or not.
    var uncertain: Set<Int64> { state.withLock { $0.uncertain } }

    func start() {
        let thread = Thread { [self] in
            var next = firstID
            while !state.withLock({ $0.stop }) {
                let transactions = 4, rows = 10
                do {
                    try fixture.insert(firstID: next, transactions: transactions, rowsPerTransaction: rows)
                    let ids = next..<(next + Int64(transactions * rows))
                    state.withLock { $0.inserted.formUnion(ids) }
                    next = ids.upperBound
                } catch where survivesFailures {
                    let ids = next..<(next + Int64(transactions * rows))
                    state.withLock { $0.uncertain.formUnion(ids) }
                    next = ids.upperBound
                    usleep(100_000)
                } catch {
                    state.withLock { $0.error = "\(error)" }
                    break
                }
                usleep(50_000)
            }
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.finished = true
                return state.done
            }
            waiter?.resume()
        }
        thread.start()
    }

    /// Stops and returns every id committed.
    func stop() async throws -> Set<Int64> {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let finished = state.withLock { state -> Bool in
                state.stop = true
                if state.finished { return true }
                state.done = continuation
                return false
            }
            if finished { continuation.resume() }
        }
        let (inserted, error) = state.withLock { ($0.inserted, $0.error) }
        if let error { throw Spawn.Failure(description: "insert load failed: \(error)") }
        return inserted
    }
}
