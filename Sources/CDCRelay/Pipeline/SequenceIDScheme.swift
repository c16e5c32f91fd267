/// Producer sequence ids as a pure function of WAL position, so a replay after a crash produces the
/// same ids and broker-side dedup (or a consumer) can drop the duplicates.
///
/// `seq = commit_lsn << 11 + ordinal`, where `commit_lsn` is `Begin.final_lsn` (the LSN of the
/// transaction's commit record, known before its rows stream in) and `ordinal` the row's position
/// among the transaction's outbox rows.
///
/// Why it never collides: two distinct commit records are at least 40 bytes apart in the WAL (a
/// 24-byte record header plus the commit body, 8-byte aligned), so the bases of two transactions are
/// at least `32 << 11 = 65,536` apart. Every ordinal below `guaranteedOrdinals` (65,536) therefore
/// stays below the next transaction's base: ids are unique and ordered by commit, then by row.
///
/// Range: the LSN must stay below 2^52 (4 PiB of WAL over the cluster's life, ~14 years at a
/// sustained 10 MB/s) for the id to fit in Pulsar's signed 64-bit sequence id.
///
/// Overflow: a transaction with more than 65,536 outbox rows keeps counting (`base + ordinal`), which
/// is still unique unless the next commit record starts within `ordinal / 2048` bytes of this one.
/// The pipeline checks every id against the last one it assigned and, in that rare case, uses
/// `last + 1` instead (counted as a sequence fallback): ids stay strictly increasing, so the broker
/// never mistakes a new event for a duplicate; only replays of those few events may get other ids.
public enum SequenceIDScheme {
    public static let ordinalBits = 11
    /// Ordinals below this are collision-free for any WAL layout.
    public static let guaranteedOrdinals: Int64 = 65_536
    /// Largest commit LSN whose ids (with every guaranteed ordinal) fit in a positive Int64.
    public static let maximumLSN: UInt64 = (1 << 52) - 64

    public struct OutOfRange: Error, Hashable, Sendable {
        public var commitLSN: UInt64
    }

    public static func base(commitLSN: UInt64) throws(OutOfRange) -> Int64 {
        guard commitLSN <= maximumLSN else { throw OutOfRange(commitLSN: commitLSN) }
        return Int64(commitLSN) << ordinalBits
    }

    public static func sequenceID(commitLSN: UInt64, ordinal: Int64) throws(OutOfRange) -> Int64 {
        let (value, overflow) = try base(commitLSN: commitLSN).addingReportingOverflow(ordinal)
        guard !overflow else { throw OutOfRange(commitLSN: commitLSN) }
        return value
    }

    /// The stable producer name for a slot: a restarted relay on the same slot is the same producer.
    public static func producerName(slotName: String) -> String {
        "outbox-relay-\(slotName)"
    }
}
