import Testing
@testable import API

@Suite struct OutboxPartitionPlannerTests {
    /// 2026-12-02T12:00:00Z.
    let now: Int64 = 1_796_212_800_000
    let planner = OutboxPartitionPlanner(interval: .seconds(60), retention: .seconds(600), margin: .seconds(120))

    func id(_ millis: Int64) -> Int64 { OutboxPartitionTime.id(atMillisSince1970: millis) }

    /// Contiguous one-minute partitions from `fromMinute` to `toMinute` relative to `now`.
    func minutes(_ fromMinute: Int64, _ toMinute: Int64) -> [OutboxPartition] {
        stride(from: fromMinute, to: toMinute, by: 1).map { m in
            OutboxPartition(name: "p\(m)", bound: .range(lower: id(now + m * 60_000), upper: id(now + (m + 1) * 60_000)))
        }
    }

    @Test func boundsParseFromTheCatalogsText() {
        #expect(OutboxPartition.parse(name: "a", boundExpression: "FOR VALUES FROM ('10') TO ('20')") == .init(name: "a", bound: .range(lower: 10, upper: 20)))
        #expect(OutboxPartition.parse(name: "l", boundExpression: "FOR VALUES FROM (MINVALUE) TO ('386557793882079232')")
            == .init(name: "l", bound: .range(lower: nil, upper: 386_557_793_882_079_232)))
        #expect(OutboxPartition.parse(name: "d", boundExpression: "DEFAULT") == .init(name: "d", bound: .default))
        #expect(OutboxPartition.parse(name: "x", boundExpression: "FOR VALUES IN ('1')") == nil)
    }

    @Test func namesAreTheStartInUTC() {
        #expect(OutboxPartitionTime.partitionName(startingAt: id(now)) == "outbox_p20261202120000")
        #expect(OutboxPartitionTime.partitionName(startingAt: id(now + 1_250)) == "outbox_p20261202120001_250")
        #expect(OutboxPartitionTime.millisSince1970(ofID: id(now)) == now)
    }

    @Test func createsAlignedPartitionsAheadFromTheDefaultOnly() {
        let plan = planner.plan(partitions: [.init(name: "outbox_default", bound: .default)], nowMillis: now + 10_000, acked: .unknown, defaultMaxID: nil)
        #expect(plan.create.map(\.lower) == [id(now), id(now + 60_000), id(now + 120_000), id(now + 180_000)])
        #expect(plan.create.last?.upper == id(now + 240_000))
        #expect(plan.create.first?.name == "outbox_p20261202120000")
    }

    @Test func continuesFromTheHighestBoundAndCreatesNothingWhenCovered() {
        let covered = planner.plan(partitions: minutes(-5, 4), nowMillis: now, acked: .unknown, defaultMaxID: nil)
        #expect(covered.create.isEmpty)
        let short = planner.plan(partitions: minutes(-5, 1), nowMillis: now, acked: .unknown, defaultMaxID: nil)
        #expect(short.create.map(\.lower) == [id(now + 60_000), id(now + 120_000), id(now + 180_000)])
    }

    @Test func afterTheLegacyBoundaryNoSliver() {
        // The pre-partitioning table ends 50 s into a minute: the first new partition runs to the
        // next-but-one boundary rather than for 10 s.
        let legacy = OutboxPartition(name: "outbox_legacy", bound: .range(lower: nil, upper: id(now + 50_000)))
        let plan = planner.plan(partitions: [legacy], nowMillis: now + 50_000, acked: .unknown, defaultMaxID: nil)
        #expect(plan.create.first?.lower == id(now + 50_000))
        #expect(plan.create.first?.upper == id(now + 120_000))
    }

    @Test func rowsInTheDefaultPartitionAreNeverCoveredByANewRange() {
        let inDefault = id(now + 30_000) + 5
        let plan = planner.plan(partitions: [.init(name: "outbox_default", bound: .default)], nowMillis: now + 40_000, acked: .unknown, defaultMaxID: inDefault)
        #expect(plan.create.first?.lower == inDefault + 1)
        #expect(plan.create.allSatisfy { $0.lower > inDefault })
    }

    @Test func nothingIsDroppedWithoutAcknowledgedProgress() {
        let plan = planner.plan(partitions: minutes(-60, 4), nowMillis: now, acked: .unknown, defaultMaxID: nil)
        #expect(plan.blocked)
        #expect(plan.drop.isEmpty)
        #expect(plan.cutoffID == nil)
    }

    @Test func dropsOnlyPartitionsOlderThanRetention() {
        // Acked up to now: the cutoff is now - 10 min; p-11 ends at now - 10 min, p-10 after it.
        let plan = planner.plan(partitions: minutes(-20, 4), nowMillis: now, acked: .oldest(millisSince1970: now), defaultMaxID: nil)
        #expect(!plan.blocked)
        #expect(plan.drop == (-20 ... -11).map { "p\($0)" })
    }

    @Test func aRelayBehindKeepsRowsNewerThanItsAckedTimeMinusTheMargin() {
        // Acked 30 min ago: cutoff = now - 32 min, far older than retention's now - 10 min.
        let acked = now - 30 * 60_000
        let plan = planner.plan(partitions: minutes(-40, 4), nowMillis: now, acked: .oldest(millisSince1970: acked), defaultMaxID: nil)
        #expect(plan.drop == (-40 ... -33).map { "p\($0)" })
        // The partition holding acked - margin (p-32: [now-32m, now-31m)) stays.
        #expect(!plan.drop.contains("p-32"))
    }

    @Test func theLegacyTableGoesOnceAllItsRowsAreOld() {
        let legacy = OutboxPartition(name: "outbox_legacy", bound: .range(lower: nil, upper: id(now - 11 * 60_000)))
        // Two minutes earlier the cutoff (now - retention) is 12 minutes back: the legacy rows are not all older.
        let kept = planner.plan(partitions: [legacy], nowMillis: now - 2 * 60_000, acked: .oldest(millisSince1970: now), defaultMaxID: nil)
        #expect(kept.drop.isEmpty)
        let dropped = planner.plan(partitions: [legacy], nowMillis: now, acked: .oldest(millisSince1970: now), defaultMaxID: nil)
        #expect(dropped.drop == ["outbox_legacy"])
    }

    @Test func theDefaultPartitionIsRecreatedOnlyWhenAllItsRowsAreOld() {
        let parts = [OutboxPartition(name: "outbox_default", bound: .default)] + minutes(0, 4)
        let old = planner.plan(partitions: parts, nowMillis: now, acked: .oldest(millisSince1970: now), defaultMaxID: id(now - 11 * 60_000))
        #expect(old.recreateDefault)
        let recent = planner.plan(partitions: parts, nowMillis: now, acked: .oldest(millisSince1970: now), defaultMaxID: id(now - 9 * 60_000))
        #expect(!recent.recreateDefault)
        let empty = planner.plan(partitions: parts, nowMillis: now, acked: .oldest(millisSince1970: now), defaultMaxID: nil)
        #expect(!empty.recreateDefault)
    }

    @Test func retentionZeroStillHonoursTheMargin() {
        let zero = OutboxPartitionPlanner(interval: .seconds(60), retention: .zero, margin: .seconds(120))
        let plan = zero.plan(partitions: minutes(-5, 4), nowMillis: now, acked: .oldest(millisSince1970: now), defaultMaxID: nil)
        #expect(plan.drop == ["p-5", "p-4", "p-3"])
    }

    @Test func afterALongStopItStartsAtTheCurrentIntervalNotInThePast() {
        let plan = planner.plan(partitions: minutes(-10_000, -9_999), nowMillis: now, acked: .unknown, defaultMaxID: nil)
        #expect(plan.create.first?.lower == id(now))
        #expect(plan.create.count == 4)
    }
}
