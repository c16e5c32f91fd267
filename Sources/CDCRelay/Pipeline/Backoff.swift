/// Exponential backoff with a cap; `reset()` after a session that made progress.
public struct Backoff: Sendable, Hashable {
    public let initial: Duration
    public let maximum: Duration
    private var next: Duration

    public init(initial: Duration = .milliseconds(200), maximum: Duration = .seconds(5)) {
        self.initial = initial
        self.maximum = maximum
        self.next = initial
    }

    public mutating func nextDelay() -> Duration {
        let delay = next
        next = min(next * 2, maximum)
        return delay
    }

    public mutating func reset() {
        next = initial
    }
}
