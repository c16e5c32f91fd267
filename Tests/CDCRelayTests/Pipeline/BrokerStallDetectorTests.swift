import Testing

@testable import CDCRelay

@Suite struct BrokerStallDetectorTests {
    let start = ContinuousClock.now

    @Test func silenceWithEventsInFlightStallsOnceThenRecoversOnTheNextAck() {
        var detector = BrokerStallDetector(threshold: .seconds(5), now: start)
        #expect(detector.observe(settled: 3, inFlight: 2, now: start + .seconds(1)) == .none)
        #expect(detector.observe(settled: 3, inFlight: 2, now: start + .seconds(5)) == .none)
        #expect(detector.observe(settled: 3, inFlight: 2, now: start + .seconds(6)) == .stalled(inFlight: 2, silentFor: .seconds(5)))
        #expect(detector.isStalled)
        #expect(detector.observe(settled: 3, inFlight: 7, now: start + .seconds(20)) == .none, "reported once")
        #expect(detector.observe(settled: 4, inFlight: 6, now: start + .seconds(21)) == .recovered)
        #expect(!detector.isStalled)
        #expect(detector.observe(settled: 5, inFlight: 5, now: start + .seconds(22)) == .none)
    }

    @Test func nothingInFlightIsNeverAStall() {
        var detector = BrokerStallDetector(threshold: .seconds(1), now: start)
        #expect(detector.observe(settled: 0, inFlight: 0, now: start + .seconds(60)) == .none)
        #expect(detector.observe(settled: 0, inFlight: 1, now: start + .seconds(60.5)) == .none)
        #expect(detector.observe(settled: 0, inFlight: 1, now: start + .seconds(61)) == .stalled(inFlight: 1, silentFor: .seconds(1)))
        // The window emptied (e.g. a dedup skip settled it): ready again.
        #expect(detector.observe(settled: 0, inFlight: 0, now: start + .seconds(62)) == .recovered)
    }
}
