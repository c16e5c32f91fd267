/// The pure core of snowflake generation: given the current wall-clock time, produce the next id.
///
/// - A clock that steps back does not make ids go back: the last timestamp keeps being used.
/// - When the 4,096 sequence numbers of one millisecond are used up, the timestamp moves on to the
///   next millisecond right away (the id runs slightly ahead of the clock instead of blocking).
public struct SnowflakeState: Sendable, Equatable {
    public let workerID: Int64
    public private(set) var lastTimestamp: Int64 = -1
    public private(set) var sequence: Int64 = 0

    public init(workerID: Int) throws(SnowflakeError) {
        guard workerID >= 0 && Int64(workerID) <= SnowflakeID.maxWorkerID else {
            throw SnowflakeError(code: .invalidWorkerID, value: Int64(workerID))
        }
        self.workerID = Int64(workerID)
    }

    public mutating func next(nowMillisSince1970: Int64) throws(SnowflakeError) -> SnowflakeID {
        let now = nowMillisSince1970 - SnowflakeID.epochMillisSince1970
        // Before the first id there is no earlier timestamp to fall back on.
        guard now >= 0 || lastTimestamp >= 0 else {
            throw SnowflakeError(code: .clockBeforeEpoch, value: nowMillisSince1970)
        }
        if now > lastTimestamp {
            lastTimestamp = now
            sequence = 0
        } else if sequence < SnowflakeID.maxSequence {
            // Same millisecond, or the clock went back: stay on the last timestamp.
            sequence += 1
        } else {
            lastTimestamp += 1
            sequence = 0
        }
        guard lastTimestamp <= SnowflakeID.maxTimestamp else {
            throw SnowflakeError(code: .timestampExhausted, value: lastTimestamp)
        }
        return SnowflakeID(timestamp: lastTimestamp, workerID: workerID, sequence: sequence)
    }
}

public struct SnowflakeError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidWorkerID = "worker id must be within 0...1023"
            case clockBeforeEpoch = "the clock reads a time before the snowflake epoch (2024-01-01)"
            case timestampExhausted = "the 41-bit millisecond range is exhausted"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        public static let invalidWorkerID = Self(.invalidWorkerID)
        public static let clockBeforeEpoch = Self(.clockBeforeEpoch)
        public static let timestampExhausted = Self(.timestampExhausted)
        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The offending input (worker id, clock reading or timestamp).
    public var value: Int64

    public var description: String { "\(code) (\(value))" }
}
