/// A 63-bit time-ordered id: 41 bits of milliseconds since ``epochMillisSince1970``, 10 bits of
/// worker id and 12 bits of per-millisecond sequence.
public struct SnowflakeID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// 2024-01-01T00:00:00Z.
    public static let epochMillisSince1970: Int64 = 1_704_067_200_000
    public static let timestampBits = 41
    public static let workerBits = 10
    public static let sequenceBits = 12
    public static let maxTimestamp: Int64 = (1 << 41) - 1
    public static let maxWorkerID: Int64 = (1 << 10) - 1
    public static let maxSequence: Int64 = (1 << 12) - 1

    public let rawValue: Int64

    public init(rawValue: Int64) { self.rawValue = rawValue }

    public init(timestamp: Int64, workerID: Int64, sequence: Int64) {
        precondition(timestamp >= 0 && timestamp <= Self.maxTimestamp, "timestamp out of range")
        precondition(workerID >= 0 && workerID <= Self.maxWorkerID, "worker id out of range")
        precondition(sequence >= 0 && sequence <= Self.maxSequence, "sequence out of range")
        self.rawValue = timestamp << 22 | workerID << 12 | sequence
    }

    /// Milliseconds since the snowflake epoch.
    public var timestamp: Int64 { rawValue >> 22 }
    public var workerID: Int64 { (rawValue >> 12) & Self.maxWorkerID }
    public var sequence: Int64 { rawValue & Self.maxSequence }
    public var millisecondsSince1970: Int64 { timestamp + Self.epochMillisSince1970 }

    public var description: String { String(rawValue) }

    public static func < (lhs: SnowflakeID, rhs: SnowflakeID) -> Bool { lhs.rawValue < rhs.rawValue }
}
