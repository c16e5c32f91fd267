import OutboxCore
import Synchronization

/// Thread-safe snowflake source shared by all request handlers.
public final class SnowflakeGenerator: Sendable {
    /// Reads wall-clock time in milliseconds since 1970; injectable for tests.
    public typealias Clock = @Sendable () -> Int64

    public static let systemClock: Clock = { WallClock.unixMilliseconds() }

    private let state: Mutex<SnowflakeState>
    private let clock: Clock

    public init(workerID: Int, clock: @escaping Clock = SnowflakeGenerator.systemClock) throws(SnowflakeError) {
        self.state = Mutex(try SnowflakeState(workerID: workerID))
        self.clock = clock
    }

    public func next() throws(SnowflakeError) -> SnowflakeID {
        let now = clock()
        return try state.withLock { (state: inout SnowflakeState) throws(SnowflakeError) -> SnowflakeID in
            try state.next(nowMillisSince1970: now)
        }
    }
}
