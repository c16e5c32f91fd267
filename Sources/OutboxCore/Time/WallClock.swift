#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one reading of wall-clock time (UTC since the Unix epoch) for timestamps that leave the
/// process: log lines, snowflake ids, status updates, publish latency. Durations use
/// `ContinuousClock`, never this.
public enum WallClock {
    public static func unixMicroseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1_000
    }

    /// Rounded down (also before 1970).
    public static func unixMilliseconds() -> Int64 {
        let (quotient, remainder) = unixMicroseconds().quotientAndRemainder(dividingBy: 1_000)
        return remainder < 0 ? quotient - 1 : quotient
    }
}
