import Testing
@testable import API

struct CreateBatchStateMachineTests {
    typealias Machine = CreateBatchStateMachine<Int>

    @Test func anIdleWriterSendsACreateAtOnce() {
        var machine = Machine(maximumBatchSize: 10, maximumConcurrentStatements: 1)
        let action1 = machine.submit(1, alone: false)
        #expect(sent(action1) == [1])
        #expect(machine.runningStatements == 1)
        let action2 = machine.submit(2, alone: false)
        #expect(sent(action2) == nil)
        #expect(machine.queuedCount == 1)
    }

    @Test func aFinishedStatementSendsEverythingQueuedInOrder() {
        var machine = Machine(maximumBatchSize: 10, maximumConcurrentStatements: 1)
        _ = machine.submit(0, alone: false)
        for item in 1...4 { _ = machine.submit(item, alone: false) }
        let action3 = machine.statementFinished()
        #expect(sent(action3) == [1, 2, 3, 4])
        #expect(machine.runningStatements == 1)
        let action4 = machine.statementFinished()
        #expect(sent(action4) == nil)
        #expect(machine.runningStatements == 0)
    }

    @Test func batchesAreCapped() {
        var machine = Machine(maximumBatchSize: 3, maximumConcurrentStatements: 1)
        _ = machine.submit(0, alone: false)
        for item in 1...7 { _ = machine.submit(item, alone: false) }
        var batches: [[Int]] = []
        while let batch = sent(machine.statementFinished()) { batches.append(batch) }
        #expect(batches == [[1, 2, 3], [4, 5, 6], [7]])
        #expect(machine.runningStatements == 0)
    }

    @Test func aCreateRetriedAloneGetsAStatementOfItsOwn() {
        var machine = Machine(maximumBatchSize: 10, maximumConcurrentStatements: 1)
        _ = machine.submit(0, alone: false)
        _ = machine.submit(1, alone: false)
        _ = machine.submit(2, alone: true)
        _ = machine.submit(3, alone: false)
        _ = machine.submit(4, alone: true)
        var batches: [[Int]] = []
        while let batch = sent(machine.statementFinished()) { batches.append(batch) }
        #expect(batches == [[1], [2], [3], [4]])
    }

    @Test func concurrentStatementsTakeFreeSlots() {
        var machine = Machine(maximumBatchSize: 10, maximumConcurrentStatements: 2)
        let action5 = machine.submit(1, alone: false)
        #expect(sent(action5) == [1])
        let action6 = machine.submit(2, alone: false)
        #expect(sent(action6) == [2])
        let action7 = machine.submit(3, alone: false)
        #expect(sent(action7) == nil)
        let action8 = machine.submit(4, alone: false)
        #expect(sent(action8) == nil)
        let action9 = machine.statementFinished()
        #expect(sent(action9) == [3, 4])
        #expect(machine.runningStatements == 2)
    }

    @Test func drainingEmptiesTheQueue() {
        var machine = Machine(maximumBatchSize: 10, maximumConcurrentStatements: 1)
        _ = machine.submit(0, alone: false)
        _ = machine.submit(1, alone: false)
        _ = machine.submit(2, alone: true)
        let action10 = machine.drain()
        #expect(action10.map(\.item) == [1, 2])
        #expect(machine.queuedCount == 0)
        let action11 = machine.statementFinished()
        #expect(sent(action11) == nil)
    }

    private func sent(_ action: Machine.Action) -> [Int]? {
        guard case .send(let batch) = action else { return nil }
        return batch.map(\.item)
    }
}
