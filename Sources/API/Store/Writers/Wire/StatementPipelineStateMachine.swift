import DequeModule
import NIOCore

/// Matches a create writer connection's backend messages to the statements sent on it. Every
/// statement ends with Sync, so each gets exactly one ReadyForQuery, in order; statements may be
/// sent before earlier ones finished (pipelining). Pure: `Pending` is whatever the caller resumes
/// (a promise in the channel handler, a number in tests).
struct StatementPipelineStateMachine<Pending> {
    /// How a statement ended: its first row's first column (nil without rows), or the server's
    /// error (its transaction rolled back, the connection remains usable).
    typealias Outcome = Result<ByteBuffer?, PostgresServerError>

    enum Action {
        case none
        case finish(Pending, Outcome)
        /// The stream cannot be trusted any more: close the connection and fail all of these.
        case closeAndFail([Pending], WriterConnectionError)
    }

    private struct Running {
        var pending: Pending
        var firstValue: ByteBuffer?
        var sawRow = false
        var error: PostgresServerError?
    }

    private var running = Deque<Running>()
    private(set) var isClosed = false

    var inFlightCount: Int { running.count }

    /// A statement (ending with Sync) was written; false if the connection is already closed
    /// (the caller fails it at once).
    mutating func statementSent(_ pending: Pending) -> Bool {
        guard !isClosed else { return false }
        running.append(Running(pending: pending))
        return true
    }

    mutating func received(_ message: BackendMessage) -> Action {
        guard !isClosed else { return .none }
        switch message {
        case .asynchronous:
            return .none
        case .parseComplete, .bindComplete, .commandComplete:
            return running.isEmpty ? protocolViolation("\(message) while no statement runs") : .none
        case .dataRow(let columns):
            guard !running.isEmpty else { return protocolViolation("a row while no statement runs") }
            if !running[0].sawRow {
                running[0].sawRow = true
                running[0].firstValue = columns.first ?? nil
            }
            return .none
        case .errorResponse(let error):
            // Outside a statement (the server is shutting down, say) the next read fails anyway.
            guard !running.isEmpty else { return closeAndFail(WriterConnectionError(code: .connectionClosed, context: error.description)) }
            if running[0].error == nil { running[0].error = error }
            return .none
        case .readyForQuery:
            guard let statement = running.popFirst() else { return protocolViolation("ReadyForQuery while no statement runs") }
            if let error = statement.error { return .finish(statement.pending, .failure(error)) }
            return .finish(statement.pending, .success(statement.firstValue))
        }
    }

    /// The connection closed or failed: every running statement fails with `error`.
    mutating func closed(_ error: WriterConnectionError) -> Action {
        guard !isClosed else { return .none }
        return closeAndFail(error)
    }

    private mutating func protocolViolation(_ context: String) -> Action {
        closeAndFail(WriterConnectionError(code: .unexpectedMessage, context: context))
    }

    private mutating func closeAndFail(_ error: WriterConnectionError) -> Action {
        isClosed = true
        let pending = running.map(\.pending)
        running.removeAll()
        return .closeAndFail(pending, error)
    }
}
