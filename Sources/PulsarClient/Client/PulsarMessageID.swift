/// Where the broker stored a message: ledger and entry, plus partition and index inside a batch.
public struct PulsarMessageID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var ledgerID: UInt64
    public var entryID: UInt64
    /// -1 for a non-partitioned topic.
    public var partition: Int32
    /// -1 when the message was not batched.
    public var batchIndex: Int32

    public init(ledgerID: UInt64, entryID: UInt64, partition: Int32 = -1, batchIndex: Int32 = -1) {
        self.ledgerID = ledgerID
        self.entryID = entryID
        self.partition = partition
        self.batchIndex = batchIndex
    }

    init(_ data: Pulsar_Proto_MessageIdData) {
        self.init(ledgerID: data.ledgerID, entryID: data.entryID, partition: data.partition, batchIndex: data.batchIndex)
    }

    var protoData: Pulsar_Proto_MessageIdData {
        var data = Pulsar_Proto_MessageIdData()
        data.ledgerID = ledgerID
        data.entryID = entryID
        if partition >= 0 { data.partition = partition }
        if batchIndex >= 0 { data.batchIndex = batchIndex }
        return data
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.ledgerID, lhs.entryID, lhs.partition, lhs.batchIndex) < (rhs.ledgerID, rhs.entryID, rhs.partition, rhs.batchIndex)
    }

    /// `ledger:entry:partition:batchIndex`, like the other Pulsar clients print it.
    public var description: String { "\(ledgerID):\(entryID):\(partition):\(batchIndex)" }
}
