import OutboxCore

/// Decides, from the outbox's partitions and the time, which partitions to create ahead and
/// which to drop. Pure: ``OutboxPartitionService`` reads the catalog, asks, and runs the SQL.
///
/// The safety rule: a partition is dropped only if every id it can hold is older than both
/// `now - retention` and the oldest acknowledged commit time of the relays' slots minus
/// `margin` (what `cdc-relay recover` may still republish). With no acknowledged progress at
/// all, nothing is dropped.
struct OutboxPartitionPlanner: Sendable {
    /// The relays' acknowledged progress, from `outbox_relay_slots`.
    enum AckedProgress: Sendable, Equatable {
        /// No slot row, or a slot that never acknowledged anything.
        case unknown
        /// The oldest `acked_commit_time` over all slots.
        case oldest(millisSince1970: Int64)
    }

    struct NewPartition: Sendable, Equatable {
        var name: String
        var lower: Int64
        var upper: Int64
    }

    struct Plan: Sendable, Equatable {
        var create: [NewPartition] = []
        var drop: [String] = []
        /// The default partition holds only rows older than the cutoff: drop and recreate it.
        var recreateDefault = false
        /// Nothing may be dropped: no relay has acknowledged anything yet.
        var blocked = false
        /// Ids below this may go (nil when blocked).
        var cutoffID: Int64?
    }

    var interval: Duration
    var retention: Duration
    var margin: Duration
    /// Intervals covered beyond the current time.
    var ahead: Int = 3

    private var intervalMillis: Int64 { max(1000, interval.wholeMilliseconds) }

    /// `defaultMaxID`: the largest id in the default partition (nil when it is empty or absent).
    func plan(partitions: [OutboxPartition], nowMillis: Int64, acked: AckedProgress, defaultMaxID: Int64?) -> Plan {
        var plan = Plan()
        planCreates(partitions: partitions, nowMillis: nowMillis, defaultMaxID: defaultMaxID, into: &plan)

        guard case .oldest(let ackedMillis) = acked else {
            plan.blocked = true
            return plan
        }
        let cutoffMillis = min(nowMillis - retention.wholeMilliseconds, ackedMillis - margin.wholeMilliseconds)
        let cutoffID = OutboxPartitionTime.id(atMillisSince1970: cutoffMillis)
        plan.cutoffID = cutoffID
        for partition in partitions {
            switch partition.bound {
            case .range(_, let upper) where upper <= cutoffID:
                plan.drop.append(partition.name)
            case .default:
                if let defaultMaxID, defaultMaxID < cutoffID { plan.recreateDefault = true }
            case .range:
                break
            }
        }
        return plan
    }

    /// Contiguous partitions from the highest range bound (or now) until `ahead` intervals past
    /// now, on interval boundaries; never over rows already in the default partition (creating
    /// a range that holds some of them would fail).
    private func planCreates(partitions: [OutboxPartition], nowMillis: Int64, defaultMaxID: Int64?, into plan: inout Plan) {
        let width = intervalMillis
        let highest = partitions.compactMap { partition -> Int64? in
            if case .range(_, let upper) = partition.bound { return upper }
            return nil
        }.max()
        let nowAlignedMillis = nowMillis - ((nowMillis % width) + width) % width
        let nowAligned = OutboxPartitionTime.id(atMillisSince1970: nowAlignedMillis)
        // After a long stop, start at the current interval rather than filling the past.
        var start = max(highest ?? nowAligned, nowAligned)
        if let defaultMaxID, defaultMaxID >= start { start = defaultMaxID + 1 }
        // The current interval and `ahead` whole intervals after it.
        let target = OutboxPartitionTime.id(atMillisSince1970: nowAlignedMillis + Int64(ahead + 1) * width)
        // A bounded number per round, whatever the input.
        while start < target, plan.create.count < ahead + 2 {
            let startMillis = OutboxPartitionTime.millisSince1970(ofID: start)
            var endMillis = (startMillis / width + 1) * width
            // No sliver partitions: a start off the boundary takes the next whole interval too.
            if endMillis - startMillis < width / 2 { endMillis += width }
            let upper = OutboxPartitionTime.id(atMillisSince1970: endMillis)
            plan.create.append(NewPartition(name: OutboxPartitionTime.partitionName(startingAt: start), lower: start, upper: upper))
            start = upper
        }
    }
}
