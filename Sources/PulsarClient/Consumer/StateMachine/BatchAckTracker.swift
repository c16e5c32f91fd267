/// A ledger entry: the unit the broker acknowledges (a batch is one entry).
struct EntryPosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    var ledgerID: UInt64
    var entryID: UInt64

    static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.ledgerID, lhs.entryID) < (rhs.ledgerID, rhs.entryID)
    }

    var description: String { "\(ledgerID):\(entryID)" }
}

/// Remembers which items of each delivered batch the application acknowledged, because without
/// batch-index acknowledgement the broker only learns about a batch once all of it is done.
///
/// Kept across reconnects: when the broker redelivers a half-acknowledged batch, the items the
/// application already acknowledged are not delivered again.
struct BatchAckTracker: Sendable, Hashable {
    private struct Batch: Sendable, Hashable {
        var size: Int
        var acked: Set<Int>
    }

    private var batches: [EntryPosition: Batch] = [:]

    var trackedCount: Int { batches.count }

    func acknowledgedIndexes(of position: EntryPosition) -> Set<Int> {
        batches[position]?.acked ?? []
    }

    /// Called when a batch is delivered; keeps what was already acknowledged.
    mutating func register(_ position: EntryPosition, size: Int) {
        if batches[position] == nil {
            batches[position] = Batch(size: size, acked: [])
        }
    }

    /// Records one item; returns true when the whole batch is now acknowledged (and forgets it).
    /// An unknown batch was already fully acknowledged (or never delivered): nothing to send.
    mutating func acknowledge(_ position: EntryPosition, index: Int) -> Bool {
        guard var batch = batches[position] else { return false }
        batch.acked.insert(index)
        if batch.acked.count >= batch.size {
            batches[position] = nil
            return true
        }
        batches[position] = batch
        return false
    }

    /// Records items `0...index` of `position` and forgets every earlier batch (a cumulative
    /// acknowledgement covers them). Returns true when the batch at `position` is complete.
    mutating func acknowledgeCumulatively(_ position: EntryPosition, index: Int) -> Bool {
        batches = batches.filter { $0.key >= position }
        guard var batch = batches[position] else { return true }
        batch.acked.formUnion(0...max(0, min(index, batch.size - 1)))
        if batch.acked.count >= batch.size {
            batches[position] = nil
            return true
        }
        batches[position] = batch
        return false
    }
}
