import OutboxCore

/// Postgres sends timestamps as microseconds since 2000-01-01 00:00:00 UTC (replication headers,
/// pgoutput commit times and binary `timestamptz` values).
public enum PostgresTimestamp {
    /// Microseconds between the Unix epoch and the Postgres epoch.
    public static let unixEpochOffsetMicros: Int64 = 946_684_800_000_000

    /// Postgres-epoch microseconds for Unix-epoch microseconds.
    public static func postgresMicros(fromUnixMicros unixMicros: Int64) -> Int64 {
        unixMicros &- unixEpochOffsetMicros
    }

    /// Unix-epoch microseconds for Postgres-epoch microseconds.
    public static func unixMicros(fromPostgresMicros postgresMicros: Int64) -> Int64 {
        postgresMicros &+ unixEpochOffsetMicros
    }

    /// The current time in Postgres-epoch microseconds (for the status update's clientTime).
    public static func now() -> Int64 {
        postgresMicros(fromUnixMicros: WallClock.unixMicroseconds())
    }
}
