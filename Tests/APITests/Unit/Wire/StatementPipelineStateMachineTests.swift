import NIOCore
import Testing
@testable import API

struct StatementPipelineStateMachineTests {
    typealias Machine = StatementPipelineStateMachine<Int>

    @Test func pipelinedStatementsFinishInOrderWithTheirFirstValue() {
        var machine = Machine()
        let result1 = machine.statementSent(1)
        #expect(result1)
        let result2 = machine.statementSent(2)
        #expect(result2)
        for message in [BackendMessage.bindComplete, .dataRow([BackendBytes.int8(3)]), .dataRow([BackendBytes.int8(9)]), .commandComplete(tag: "SELECT 2")] {
            let result3 = machine.received(message)
            #expect(isNone(result3))
        }
        let result4 = machine.received(.readyForQuery)
        #expect(finished(result4) == .init(pending: 1, value: BackendBytes.int8(3)))
        let result5 = machine.received(.bindComplete)
        #expect(isNone(result5))
        let result6 = machine.received(.readyForQuery)
        #expect(finished(result6) == .init(pending: 2, value: nil), "no row: no value")
        #expect(machine.inFlightCount == 0)
    }

    @Test func aServerErrorFailsOnlyItsStatement() {
        var machine = Machine()
        _ = machine.statementSent(1)
        _ = machine.statementSent(2)
        let error = PostgresServerError(sqlState: "23505", severity: "ERROR", message: "duplicate key")
        let result7 = machine.received(.errorResponse(error))
        #expect(isNone(result7))
        guard case .finish(1, .failure(let reported)) = machine.received(.readyForQuery) else {
            Issue.record("expected statement 1 to fail")
            return
        }
        #expect(reported == error)
        _ = machine.received(.dataRow([BackendBytes.int8(1)]))
        let result8 = machine.received(.readyForQuery)
        #expect(finished(result8) == .init(pending: 2, value: BackendBytes.int8(1)))
        #expect(!machine.isClosed)
    }

    @Test func messagesWhileNothingRunsCloseTheConnection() {
        for message in [BackendMessage.readyForQuery, .dataRow([]), .bindComplete, .commandComplete(tag: "INSERT 0 1")] {
            var machine = Machine()
            guard case .closeAndFail(let pending, let error) = machine.received(message) else {
                Issue.record("expected \(message) to close the connection")
                continue
            }
            #expect(pending.isEmpty)
            #expect(error.code == .unexpectedMessage)
            #expect(machine.isClosed)
        }
    }

    @Test func asynchronousMessagesAreIgnoredAnywhere() {
        var machine = Machine()
        let result9 = machine.received(.asynchronous)
        #expect(isNone(result9))
        _ = machine.statementSent(1)
        let result10 = machine.received(.asynchronous)
        #expect(isNone(result10))
        let result11 = machine.received(.readyForQuery)
        #expect(finished(result11) == .init(pending: 1, value: nil))
    }

    @Test func closingFailsEverythingRunningAndRefusesNewStatements() {
        var machine = Machine()
        _ = machine.statementSent(1)
        _ = machine.statementSent(2)
        let error = WriterConnectionError(code: .connectionClosed, context: "test")
        guard case .closeAndFail(let pending, let reported) = machine.closed(error) else {
            Issue.record("expected everything to fail")
            return
        }
        #expect(pending == [1, 2])
        #expect(reported == error)
        let sentAfterClosing = machine.statementSent(3)
        #expect(!sentAfterClosing)
        let closedTwice = machine.closed(error)
        #expect(isNone(closedTwice), "closing twice fails nothing twice")
        let readAfterClosing = machine.received(.readyForQuery)
        #expect(isNone(readAfterClosing), "nothing is read after closing")
    }

    @Test func anErrorOutsideAStatementClosesTheConnection() {
        var machine = Machine()
        let error = PostgresServerError(sqlState: "57P01", severity: "FATAL", message: "terminating connection")
        guard case .closeAndFail(_, let reported) = machine.received(.errorResponse(error)) else {
            Issue.record("expected the connection to close")
            return
        }
        #expect(reported.code == .connectionClosed)
    }

    private struct Finished: Equatable {
        var pending: Int
        var value: ByteBuffer?
    }

    private func finished(_ action: Machine.Action) -> Finished? {
        guard case .finish(let pending, .success(let value)) = action else { return nil }
        return Finished(pending: pending, value: value)
    }

    private func isNone(_ action: Machine.Action) -> Bool {
        if case .none = action { return true }
        return false
    }
}
