/// Decides when a broker that stopped acknowledging makes the relay not ready, and when it is
/// ready again. Pure value: the session feeds it the ack count and window use on every tick.
///
/// A broker outage is backpressure, not a failure: the session keeps waiting while the client
/// reconnects and resends, so this only changes what the relay reports.
public struct BrokerStallDetector: Sendable, Hashable {
    public enum Action: Sendable, Hashable {
        case none
        /// Events are in flight and nothing was acknowledged for `silentFor` (≥ the threshold).
        case stalled(inFlight: Int, silentFor: Duration)
        /// Acknowledgements flow again (or nothing is in flight any more) after a stall.
        case recovered
    }

    public let threshold: Duration
    private var lastSettled: UInt64 = 0
    private var lastProgress: ContinuousClock.Instant
    public private(set) var isStalled = false

    public init(threshold: Duration, now: ContinuousClock.Instant) {
        self.threshold = threshold
        self.lastProgress = now
    }

    /// `settled`: acks (and dedup skips) so far in the session; `inFlight`: events awaiting one.
    public mutating func observe(settled: UInt64, inFlight: Int, now: ContinuousClock.Instant) -> Action {
        if settled != lastSettled || inFlight == 0 {
            lastSettled = settled
            lastProgress = now
            guard isStalled else { return .none }
            isStalled = false
            return .recovered
        }
        let silentFor = now - lastProgress
        guard !isStalled, silentFor >= threshold else { return .none }
        isStalled = true
        return .stalled(inFlight: inFlight, silentFor: silentFor)
    }
}
