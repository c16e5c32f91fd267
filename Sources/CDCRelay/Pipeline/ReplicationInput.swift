/// The parts of the replication stream the pipeline acts on, decoupled from the decoder's types
/// (an adapter translates `PGOutputMessage` / keepalives into these).
public enum ReplicationInput: Sendable, Hashable {
    /// `finalLSN` is the LSN of the transaction's commit record; `commitTime` is Unix microseconds.
    case begin(finalLSN: UInt64, commitTime: Int64, xid: UInt32)
    case relation(id: UInt32, namespace: String, name: String, columnNames: [String])
    case insert(relationID: UInt32, values: [ColumnValue])
    case commit(commitLSN: UInt64, endLSN: UInt64)
    /// Updates, deletes, truncates, types, origins, logical messages: nothing to publish.
    case otherChange
    case keepalive(walEnd: UInt64, replyRequested: Bool)
}

/// Positions reported in a standby status update.
public struct StandbyPositions: Sendable, Hashable {
    public var written: UInt64
    public var flushed: UInt64
    public var applied: UInt64

    public init(written: UInt64, flushed: UInt64, applied: UInt64) {
        self.written = written
        self.flushed = flushed
        self.applied = applied
    }
}
