import Testing

@testable import CDCRelay

@Suite struct LSNTrackerTests {
    @Test func confirmsOnlyAfterCommitAndAllAcks() throws {
        var tracker = LSNTracker(confirmedLSN: 100)
        let t = try tracker.begin(commitLSN: 200)
        try tracker.eventSent(in: t)
        try tracker.eventSent(in: t)
        #expect(try tracker.eventAcked(in: t) == false)
        #expect(try tracker.eventAcked(in: t) == false)  // not committed yet
        #expect(tracker.confirmedLSN == 100)
        #expect(try tracker.commit(commitLSN: 200, endLSN: 210))
        #expect(tracker.confirmedLSN == 210)
        #expect(tracker.isIdle)
        #expect(tracker.inFlight == 0)
    }

    @Test func laterTransactionWaitsForEarlierOne() throws {
        var tracker = LSNTracker()
        let a = try tracker.begin(commitLSN: 100)
        try tracker.eventSent(in: a)
        try tracker.commit(commitLSN: 100, endLSN: 110)
        let b = try tracker.begin(commitLSN: 200)
        try tracker.eventSent(in: b)
        try tracker.commit(commitLSN: 200, endLSN: 210)
        #expect(try tracker.eventAcked(in: b) == false)
        #expect(tracker.confirmedLSN == 0)
        #expect(try tracker.eventAcked(in: a))
        #expect(tracker.confirmedLSN == 210)
    }

    @Test func transactionsWithoutEventsAreConfirmedInOrder() throws {
        var tracker = LSNTracker()
        let a = try tracker.begin(commitLSN: 100)
        try tracker.eventSent(in: a)
        try tracker.commit(commitLSN: 100, endLSN: 110)
        _ = try tracker.begin(commitLSN: 200)
        #expect(try tracker.commit(commitLSN: 200, endLSN: 210) == false)
        #expect(tracker.confirmedLSN == 0)
        try tracker.eventAcked(in: a)
        #expect(tracker.confirmedLSN == 210)
    }

    /// Every order of acks over three transactions (2, 1, 3 events) confirms exactly the prefix
    /// of fully acked transactions after each step.
    @Test func everyAckOrderConfirmsTheAckedPrefix() throws {
        let sizes = [2, 1, 3]
        let ends: [UInt64] = [110, 210, 310]
        var events: [Int] = []
        for (index, size) in sizes.enumerated() { events += Array(repeating: index, count: size) }
        var permutations = 0
        for order in Self.permutations(of: Array(events.indices)) {
            permutations += 1
            var tracker = LSNTracker(confirmedLSN: 50)
            var tokens: [LSNTracker.TransactionToken] = []
            for (index, size) in sizes.enumerated() {
                let token = try tracker.begin(commitLSN: UInt64(index + 1) * 100)
                for _ in 0..<size { try tracker.eventSent(in: token) }
                try tracker.commit(commitLSN: UInt64(index + 1) * 100, endLSN: ends[index])
                tokens.append(token)
            }
            var remaining = sizes
            for eventIndex in order {
                let transaction = events[eventIndex]
                try tracker.eventAcked(in: tokens[transaction])
                remaining[transaction] -= 1
                let donePrefix = remaining.prefix { $0 == 0 }.count
                #expect(tracker.confirmedLSN == (donePrefix == 0 ? 50 : ends[donePrefix - 1]))
                #expect(tracker.inFlight == remaining.reduce(0, +))
            }
            #expect(tracker.isIdle)
        }
        #expect(permutations == 720)
    }

    @Test func failureStopsConfirmationForGood() throws {
        var tracker = LSNTracker()
        let a = try tracker.begin(commitLSN: 100)
        try tracker.eventSent(in: a)
        try tracker.eventSent(in: a)
        try tracker.commit(commitLSN: 100, endLSN: 110)
        tracker.eventFailed(in: a)
        #expect(tracker.hasFailed)
        #expect(try tracker.eventAcked(in: a) == false)
        #expect(tracker.confirmedLSN == 0)
        #expect(Self.keepalive(&tracker, 500) == false)
        #expect(tracker.confirmedLSN == 0)
        #expect(tracker.inFlight == 0)
    }

    /// The final status before a restart must cover every transaction acked before the failed one,
    /// including acks that arrive after the failure; nothing from the failed transaction on.
    @Test func failureKeepsConfirmingTheAcknowledgedPrefix() throws {
        var tracker = LSNTracker()
        let a = try tracker.begin(commitLSN: 100)
        try tracker.eventSent(in: a)
        try tracker.commit(commitLSN: 100, endLSN: 110)
        let b = try tracker.begin(commitLSN: 200)
        try tracker.eventSent(in: b)
        try tracker.eventSent(in: b)
        try tracker.commit(commitLSN: 200, endLSN: 210)
        let c = try tracker.begin(commitLSN: 300)
        try tracker.eventSent(in: c)
        try tracker.commit(commitLSN: 300, endLSN: 310)
        tracker.eventFailed(in: b)
        #expect(tracker.confirmedLSN == 0)
        #expect(try tracker.eventAcked(in: a))
        #expect(tracker.confirmedLSN == 110)
        #expect(try tracker.eventAcked(in: b) == false)
        #expect(try tracker.eventAcked(in: c) == false)
        #expect(tracker.confirmedLSN == 110)
        #expect(Self.keepalive(&tracker, 900) == false)
        #expect(tracker.confirmedLSN == 110)
    }

    @Test func idleKeepaliveConfirmsWALEnd() throws {
        var tracker = LSNTracker(confirmedLSN: 100)
        #expect(Self.keepalive(&tracker, 5000))
        #expect(tracker.confirmedLSN == 5000)
        #expect(Self.keepalive(&tracker, 4000) == false)  // never backwards
        #expect(tracker.confirmedLSN == 5000)
    }

    @Test func keepaliveDoesNotConfirmWhileAnythingIsPending() throws {
        var tracker = LSNTracker(confirmedLSN: 100)
        let open = try tracker.begin(commitLSN: 300)
        #expect(Self.keepalive(&tracker, 5000) == false)  // transaction open
        try tracker.eventSent(in: open)
        try tracker.commit(commitLSN: 300, endLSN: 310)
        #expect(Self.keepalive(&tracker, 6000) == false)  // committed but in flight
        #expect(tracker.lagBytes == 5900)
        try tracker.eventAcked(in: open)
        #expect(tracker.confirmedLSN == 310)
        #expect(Self.keepalive(&tracker, 6000))
        #expect(tracker.confirmedLSN == 6000)
        #expect(tracker.lagBytes == 0)
    }

    @Test func streamViolationsAreTypedErrors() throws {
        var tracker = LSNTracker()
        #expect(throws: LSNTrackerError(code: .commitWithoutBegin, lsn: 10)) {
            try tracker.commit(commitLSN: 5, endLSN: 10)
        }
        let a = try tracker.begin(commitLSN: 100)
        #expect(throws: LSNTrackerError(code: .beginInsideTransaction, lsn: 200)) {
            try tracker.begin(commitLSN: 200)
        }
        #expect(throws: LSNTrackerError(code: .unknownTransaction)) { try tracker.eventAcked(in: a) }
        #expect(throws: LSNTrackerError(code: .commitMismatch, lsn: 101)) {
            try tracker.commit(commitLSN: 101, endLSN: 110)
        }
        try tracker.commit(commitLSN: 100, endLSN: 110)
        #expect(throws: LSNTrackerError(code: .unknownTransaction)) { try tracker.eventSent(in: a) }
    }

    static func keepalive(_ tracker: inout LSNTracker, _ walEnd: UInt64) -> Bool {
        tracker.keepalive(walEnd: walEnd)
    }

    static func permutations(of items: [Int]) -> [[Int]] {
        guard items.count > 1 else { return [items] }
        var result: [[Int]] = []
        for (index, item) in items.enumerated() {
            var rest = items
            rest.remove(at: index)
            for tail in permutations(of: rest) { result.append([item] + tail) }
        }
        return result
    }
}
