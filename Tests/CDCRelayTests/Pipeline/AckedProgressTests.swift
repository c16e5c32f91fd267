import Testing

@testable import CDCRelay

@Suite struct AckedProgressTests {
    @Test func trackerCarriesTheCommitTimeOfTheNewestConfirmedTransaction() throws {
        var tracker = LSNTracker(confirmedLSN: 100)
        #expect(tracker.confirmedCommitTime == nil)
        let a = try tracker.begin(commitLSN: 200, commitTime: 1_000)
        try tracker.eventSent(in: a)
        try tracker.commit(commitLSN: 200, endLSN: 210)
        let b = try tracker.begin(commitLSN: 300, commitTime: 2_000)
        try tracker.eventSent(in: b)
        try tracker.commit(commitLSN: 300, endLSN: 310)
        try tracker.eventAcked(in: b)
        #expect(tracker.confirmedCommitTime == nil, "b is acked but a is not: nothing confirmed")
        try tracker.eventAcked(in: a)
        #expect(tracker.confirmedLSN == 310)
        #expect(tracker.confirmedCommitTime == 2_000)
        // An idle keepalive moves the LSN but keeps the newest transaction's time.
        tracker.keepalive(walEnd: 400)
        #expect(tracker.confirmedLSN == 400)
        #expect(tracker.confirmedCommitTime == 2_000)
    }

    @Test func boardKeepsTheNewestPositionAndNeverGoesBack() {
        let board = AckedProgressBoard()
        #expect(board.latest == nil)
        board.post(AckedProgress(lsn: 500, commitTime: 7))
        board.post(AckedProgress(lsn: 400, commitTime: 9))
        #expect(board.latest == AckedProgress(lsn: 500, commitTime: 7))
        board.post(AckedProgress(lsn: 600, commitTime: nil))
        #expect(board.latest == AckedProgress(lsn: 600, commitTime: 7), "a position without a new transaction keeps the last commit time")
    }

    @Test func scheduleWritesAChangedPositionAtMostOncePerInterval() {
        var schedule = ProgressSchedule(interval: .seconds(1))
        let start = ContinuousClock.now
        let first = AckedProgress(lsn: 10, commitTime: 1)
        #expect(schedule.due(nil, now: start) == nil)
        #expect(schedule.due(first, now: start) == first)
        schedule.wrote(first, at: start)
        #expect(schedule.due(first, now: start + .seconds(5)) == nil, "unchanged: nothing to write")
        let second = AckedProgress(lsn: 20, commitTime: 2)
        #expect(schedule.due(second, now: start + .milliseconds(300)) == nil, "too soon after the last write")
        #expect(schedule.due(second, now: start + .seconds(1)) == second)
        schedule.wrote(second, at: start + .seconds(1))
        // Moved by idle keepalives only (the same transaction): written less often.
        let idle = AckedProgress(lsn: 30, commitTime: 2)
        #expect(schedule.due(idle, now: start + .seconds(3)) == nil)
        #expect(schedule.due(idle, now: start + .seconds(11)) == idle)
    }

    @Test func updateOnlyMovesTheRecordedPositionForward() {
        let sql = ProgressRecorder.updateSQL(slotName: "s'1", progress: AckedProgress(lsn: 0x1_0000_00A0, commitTime: 1_700_000_000_000_123))
        #expect(sql.contains("acked_lsn = '1/A0'::pg_lsn"))
        #expect(sql.contains("acked_lsn IS NULL OR acked_lsn <= '1/A0'::pg_lsn"))
        #expect(sql.contains("slot_name = 's''1'"), "the slot name is quoted")
        #expect(sql.contains("1700000000000123 * interval '1 microsecond'"))
        let withoutTime = ProgressRecorder.updateSQL(slotName: "s", progress: AckedProgress(lsn: 5, commitTime: nil))
        #expect(withoutTime.contains("acked_commit_time = acked_commit_time"))
    }

    @Test func streamingStartsAtTheNewerOfSlotAndRecordedPosition() {
        let system = SystemIdentity(systemID: "1", timeline: 1, xlogPosition: LSN(0), database: "app")
        var outcome = SlotBootstrap.Outcome(decision: .use, createdPublication: false, system: system, startLSN: LSN(100), recordedLSN: LSN(250))
        #expect(outcome.streamStart == LSN(250), "after a Postgres crash the slot went back; the recorded row did not")
        outcome.recordedLSN = LSN(50)
        #expect(outcome.streamStart == LSN(100))
        outcome.recordedLSN = nil
        #expect(outcome.streamStart == LSN(100))
    }
}
