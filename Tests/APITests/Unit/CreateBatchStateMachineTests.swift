import Testing
@testable import API

struct CreateBatchStateMachineTests {
    @Test func runsAloneWhileASlotIsFree() {
        var machine = CreateBatchStateMachine<Int>(maximumBatchSize: 10, maximumConcurrentBatches: 2)
        #expect(isRunAlone(machine.submit(1)))
        #expect(isRunAlone(machine.submit(2)))
        #expect(machine.runningBatches == 2)
        #expect(!isRunAlone(machine.submit(3)))
        #expect(machine.queuedCount == 1)
    }

    @Test func aFinishedStatementHandsItsSlotToEverythingQueued() {
        var machine = CreateBatchStateMachine<Int>(maximumBatchSize: 10, maximumConcurrentBatches: 1)
        #expect(isRunAlone(machine.submit(0)))
        for waiter in 1...4 { #expect(!isRunAlone(machine.submit(waiter))) }
        guard case .runBatch(let batch) = machine.batchFinished() else {
            Issue.record("expected the queue to run")
            return
        }
        #expect(batch == [1, 2, 3, 4])
        #expect(machine.runningBatches == 1)
        #expect(machine.queuedCount == 0)
        guard case .idle = machine.batchFinished() else {
            Issue.record("expected idle")
            return
        }
        #expect(machine.runningBatches == 0)
        #expect(isRunAlone(machine.submit(5)))
    }

    @Test func batchesAreCappedAndKeepArrivalOrder() {
        var machine = CreateBatchStateMachine<Int>(maximumBatchSize: 3, maximumConcurrentBatches: 1)
        _ = machine.submit(0)
        for waiter in 1...7 { _ = machine.submit(waiter) }
        var batches: [[Int]] = []
        while case .runBatch(let batch) = machine.batchFinished() { batches.append(batch) }
        #expect(batches == [[1, 2, 3], [4, 5, 6], [7]])
        #expect(machine.runningBatches == 0)
    }

    @Test func aFreeSlotIsTakenOnlyWhileNothingQueues() {
        var machine = CreateBatchStateMachine<Int>(maximumBatchSize: 10, maximumConcurrentBatches: 1)
        do { let started = machine.startIfSlotFree(); #expect(started) }
        do { let started = machine.startIfSlotFree(); #expect(!started) }
        _ = machine.submit(1)
        guard case .runBatch = machine.batchFinished() else {
            Issue.record("expected the queued create to run")
            return
        }
        do { let started = machine.startIfSlotFree(); #expect(!started) }
        guard case .idle = machine.batchFinished() else {
            Issue.record("expected idle")
            return
        }
        do { let started = machine.startIfSlotFree(); #expect(started) }
    }

    @Test func batchSizeOneNeverCombines() {
        var machine = CreateBatchStateMachine<Int>(maximumBatchSize: 1, maximumConcurrentBatches: 1)
        _ = machine.submit(0)
        _ = machine.submit(1)
        _ = machine.submit(2)
        guard case .runBatch(let first) = machine.batchFinished(), case .runBatch(let second) = machine.batchFinished() else {
            Issue.record("expected two single batches")
            return
        }
        #expect(first == [1] && second == [2])
    }

    private func isRunAlone(_ action: CreateBatchStateMachine<Int>.SubmitAction) -> Bool {
        if case .runAlone = action { return true }
        return false
    }
}
