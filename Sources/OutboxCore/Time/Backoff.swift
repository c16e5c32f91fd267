/// Exponential backoff with a cap and jitter; `reset()` after a session that made progress.
///
/// Each delay is drawn uniformly from [(1 - jitter) · step, step], where the step doubles from
/// `initial` up to `maximum`: relays restarting together spread out, and no delay exceeds the cap.
public struct Backoff: Sendable, Hashable {
    public let initial: Duration
    public let maximum: Duration
    /// Fraction of each step that is random, 0…1.
    public let jitter: Double
    private var step: Duration

    public init(initial: Duration = .milliseconds(200), maximum: Duration = .seconds(60), jitter: Double = 0.5) {
        self.initial = initial
        self.maximum = max(initial, maximum)
        self.jitter = min(1, max(0, jitter))
        self.step = initial
    }

    public mutating func nextDelay() -> Duration {
        var generator = SystemRandomNumberGenerator()
        return nextDelay(using: &generator)
    }

    public mutating func nextDelay(using generator: inout some RandomNumberGenerator) -> Duration {
        let current = step
        step = min(step * 2, maximum)
        guard jitter > 0 else { return current }
        let fraction = 1 - jitter * Double.random(in: 0...1, using: &generator)
        return current * fraction
    }

    public mutating func reset() {
        step = initial
    }
}
