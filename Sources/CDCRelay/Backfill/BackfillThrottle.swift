import OutboxCore

/// Keeps a backfill at `rate` rows per second (0: unthrottled) so live traffic keeps its
/// latency. A token bucket holding at most one second of rows. Pure.
public struct BackfillThrottle: Sendable, Hashable {
    public let rate: Int
    private var tokens: Double
    private var last: ContinuousClock.Instant?

    public init(rate: Int) {
        self.rate = max(0, rate)
        self.tokens = Double(max(0, rate))
    }

    /// How long to wait before sending `count` more rows at `now`; the rows are then counted.
    public mutating func delay(before count: Int, now: ContinuousClock.Instant) -> Duration {
        guard rate > 0 else { return .zero }
        if let last {
            let elapsed = now - last
            let seconds = elapsed.fractionalSeconds
            tokens = min(Double(rate), tokens + seconds * Double(rate))
        }
        last = now
        tokens -= Double(count)
        guard tokens < 0 else { return .zero }
        return .nanoseconds(Int64(-tokens / Double(rate) * 1e9))
    }
}

/// The line a backfill prints while it runs. Pure.
public struct BackfillProgressLine: Sendable, Hashable {
    public var name: String
    public var done: Int64
    public var total: Int64
    public var rowsPerSecond: Double

    public init(name: String, done: Int64, total: Int64, rowsPerSecond: Double) {
        self.name = name
        self.done = done
        self.total = total
        self.rowsPerSecond = rowsPerSecond
    }

    public var text: String {
        let percent = total > 0 ? Double(done) * 100 / Double(total) : 100
        let rounded = (percent * 10).rounded() / 10
        return "backfill \(name): \(done)/\(total) rows (\(rounded)%), \(Int(rowsPerSecond.rounded())) rows/s"
    }
}
