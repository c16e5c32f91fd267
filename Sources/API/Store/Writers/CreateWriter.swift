import Logging
import NIOCore
import Synchronization

/// Writes the creates (those without an Idempotency-Key) of the requests one event loop serves,
/// on a Postgres connection of its own that lives on that same loop, so a create never leaves its
/// thread and takes no pool lease.
///
/// Creates are batched by ``CreateBatchStateMachine``. The next statement is sent from the
/// completion of the previous one, on the loop, before any request is resumed: the connection is
/// busy again at once instead of waiting for a request task to be scheduled. Every statement is
/// ``CreateProductsBatchStatement`` (a lone create is a batch of one) on a
/// ``PipelinedWriterConnection``. A request's cancellation does not withdraw its create: like a
/// statement already sent, it completes, and the product exists.
final class CreateWriter: Sendable {
    private enum Outcome {
        case done(Result<Void, APIError>)
        /// The batch failed for a reason of its own (a constraint, a trigger): try again alone.
        case retryAlone
    }

    private struct Item: Sendable {
        let parameters: CreateProductParameters
        let continuation: CheckedContinuation<Outcome, Never>
        let logger: Logger
    }

    private typealias Machine = CreateBatchStateMachine<Item>

    private struct State {
        var machine: Machine
        var connection: PipelinedWriterConnection?
        var connecting: EventLoopFuture<PipelinedWriterConnection>?
        var closed = false
    }

    let eventLoop: any EventLoop
    private let settings: CreateWriterSettings
    private let statementTimeout: Duration
    private let retryAfterSeconds: Int
    private let metrics: APIMetrics?
    private let state: Mutex<State>

    /// `statementTimeout`: a client-side limit after which the connection is closed (the server's
    /// own `statement_timeout` should end slow statements first).
    init(
        eventLoop: any EventLoop, settings: CreateWriterSettings, maximumBatchSize: Int, maximumConcurrentStatements: Int,
        statementTimeout: Duration, retryAfterSeconds: Int, metrics: APIMetrics?
    ) {
        self.eventLoop = eventLoop
        self.settings = settings
        self.statementTimeout = statementTimeout
        self.retryAfterSeconds = retryAfterSeconds
        self.metrics = metrics
        self.state = Mutex(State(machine: Machine(maximumBatchSize: maximumBatchSize, maximumConcurrentStatements: maximumConcurrentStatements)))
    }

    /// Creates waiting for a running statement to finish.
    var queuedCount: Int { state.withLock { $0.machine.queuedCount } }

    /// Create statements running now.
    var runningStatements: Int { state.withLock { $0.machine.runningStatements } }

    /// Inserts the product and its event, possibly in one statement with other creates.
    func create(_ parameters: CreateProductParameters, logger: Logger) async -> Result<Void, APIError> {
        var alone = false
        while true {
            let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
                let item = Item(parameters: parameters, continuation: continuation, logger: logger)
                let action = state.withLock { state -> Machine.Action? in
                    state.closed ? nil : state.machine.submit(item, alone: alone)
                }
                guard let action else {
                    continuation.resume(returning: .done(.failure(shutDownError())))
                    return
                }
                if case .send(let batch) = action { send(batch) }
            }
            switch outcome {
            case .done(let result): return result
            case .retryAlone: alone = true
            }
        }
    }

    /// Closes the connection and fails whatever still queues (at shutdown, after the server stopped).
    func close() {
        let (connection, queued) = state.withLock { state in
            state.closed = true
            defer { state.connection = nil }
            return (state.connection, state.machine.drain())
        }
        connection?.close()
        for entry in queued { entry.item.continuation.resume(returning: .done(.failure(shutDownError()))) }
    }

    private func send(_ batch: [Machine.Entry]) {
        let open = state.withLock { state -> PipelinedWriterConnection? in
            if let connection = state.connection, !connection.isClosed { return connection }
            return nil
        }
        if let open {
            send(batch, on: open)
            return
        }
        connection().whenComplete { result in
            switch result {
            case .success(let connection): self.send(batch, on: connection)
            case .failure(let error): self.finish(batch, .failure(error), operation: nil)
            }
        }
    }

    private func send(_ batch: [Machine.Entry], on connection: PipelinedWriterConnection) {
        let operation = Operation(started: .now)
        if !batch[0].alone { metrics?.recordCreateBatch(size: batch.count) }
        metrics?.databaseOperationStarted()
        var messages = connection.allocator.buffer(capacity: 256 + batch.count * 640)
        CreateProductsBatchStatement.encode(batch.map(\.item.parameters), deleteOutboxRows: settings.deleteOutboxRowsAfterInsert, into: &messages)
        let timer = connection.eventLoop.scheduleTask(in: TimeAmount(statementTimeout)) {
            operation.timedOut.store(true, ordering: .relaxed)
            connection.close()
        }
        connection.send(messages).whenComplete { result in
            timer.cancel()
            let count = result.flatMap { value in Result { try CreateProductsBatchStatement.decodeCount(value) } }
            if case .failure(let error) = count, !(error is PostgresServerError) || connection.isClosed {
                // Anything but a server's verdict on the statement: reconnect for the next one.
                connection.close()
            }
            self.finish(batch, count, operation: operation)
        }
    }

    /// Starts the next statement first, then resumes the requests of this one.
    private func finish(_ batch: [Machine.Entry], _ result: Result<Int64, any Error>, operation: Operation?) {
        if case .send(let next) = state.withLock({ $0.machine.statementFinished() }) { send(next) }
        let name = batch.count == 1 ? "create_product" : "create_products_batch"
        if let operation { metrics?.databaseOperationFinished(name, duration: .now - operation.started) }
        let outcome: Outcome
        switch result {
        case .success(let count) where count == Int64(batch.count):
            outcome = .done(.success(()))
        case .success(let count):
            outcome = .done(.failure(.internalError(underlying: UnexpectedRowCount(count: count))))
        case .failure(var error):
            if operation?.timedOut.load(ordering: .relaxed) == true { error = DeadlineExceeded(limit: statementTimeout) }
            let mapped = DatabaseErrorClassifier.report(error, operation: name, retryAfterSeconds: retryAfterSeconds, logger: batch[0].item.logger)
            outcome = mapped.code != .databaseUnavailable && batch.count > 1 ? .retryAlone : .done(.failure(mapped))
        }
        for entry in batch { entry.item.continuation.resume(returning: outcome) }
    }

    /// The open connection, or the one being opened (one attempt at a time).
    private func connection() -> EventLoopFuture<PipelinedWriterConnection> {
        let (future, isNew) = state.withLock { state -> (EventLoopFuture<PipelinedWriterConnection>, Bool) in
            if let connection = state.connection, !connection.isClosed { return (eventLoop.makeSucceededFuture(connection), false) }
            if let connecting = state.connecting { return (connecting, false) }
            let settings = settings
            let connecting = eventLoop.makeFutureWithTask { [eventLoop] in
                var statements = [(name: CreateProductsBatchStatement.name, sql: CreateProductsBatchStatement.sql, parameterTypes: CreateProductsBatchStatement.wireParameterTypes)]
                if settings.deleteOutboxRowsAfterInsert {
                    statements.append((DeleteOutboxRowsStatement.name, DeleteOutboxRowsStatement.sql, DeleteOutboxRowsStatement.wireParameterTypes))
                }
                return try await PipelinedWriterConnection.connect(settings, on: eventLoop, prepare: statements)
            }
            state.connecting = connecting
            return (connecting, true)
        }
        guard isNew else { return future }
        // Registered before the caller's callbacks, so the connection is stored before it is used.
        future.whenComplete { result in
            let stale = self.state.withLock { state -> PipelinedWriterConnection? in
                state.connecting = nil
                guard case .success(let connection) = result else { return nil }
                if state.closed { return connection }
                state.connection = connection
                return nil
            }
            stale?.close()
        }
        return future
    }

    private func shutDownError() -> APIError {
        .databaseUnavailable(retryAfterSeconds: retryAfterSeconds, underlying: WriterConnectionError(code: .connectionClosed, context: "the API is shutting down"))
    }
}

/// One statement in flight: when it started, and whether its timer closed the connection.
private final class Operation: Sendable {
    let started: ContinuousClock.Instant
    let timedOut = Atomic<Bool>(false)

    init(started: ContinuousClock.Instant) {
        self.started = started
    }
}
