import Logging
import NIOCore
import Synchronization

/// Writes the creates of the requests one event loop serves, on Postgres connections of its own
/// that live on that same loop. A create then never leaves its thread: no hop to a pooled
/// connection on another loop and back, and no pool lease per statement. Its ``batcher`` makes
/// concurrent creates share statements, so it needs at most one connection per statement slot.
/// Every statement is ``CreateProductsBatchStatement`` (a lone create is a batch of one), sent
/// over a ``PipelinedWriterConnection``.
final class CreateWriter: Sendable {
    let eventLoop: any EventLoop
    let batcher: CreateBatcher
    private let settings: CreateWriterSettings
    private let idle = Mutex<[PipelinedWriterConnection]>([])
    private let closed = Atomic<Bool>(false)

    init(eventLoop: any EventLoop, settings: CreateWriterSettings, batcher: CreateBatcher) {
        self.eventLoop = eventLoop
        self.settings = settings
        self.batcher = batcher
    }

    /// Inserts `items` (products and their events) in one statement on a connection of this
    /// writer, opening one if none is idle; returns the outbox rows written. If the statement is
    /// not done within `timeout` the connection is closed, which ends the statement with an error
    /// (reported as ``DeadlineExceeded``); a connection that failed is dropped so the next
    /// statement reconnects, while one that only saw a server error (a constraint, a trigger) is
    /// kept.
    func insert(_ items: [CreateProductParameters], timeout: Duration) async throws -> Int64 {
        let connection = try await checkOut()
        let deadline = DeadlineFlag()
        let timer = eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            deadline.fired.store(true, ordering: .relaxed)
            connection.close()
        }
        do {
            var messages = connection.allocator.buffer(capacity: 256 + items.count * 640)
            CreateProductsBatchStatement.encode(items, into: &messages)
            let value = try await connection.run(messages)
            timer.cancel()
            checkIn(connection)
            return try CreateProductsBatchStatement.decodeCount(value)
        } catch {
            timer.cancel()
            if deadline.fired.load(ordering: .relaxed) { throw DeadlineExceeded(limit: timeout) }
            if error is PostgresServerError, !connection.isClosed {
                checkIn(connection)
            } else {
                connection.close()
            }
            throw error
        }
    }

    /// Closes the idle connections and makes later ones close on return (at shutdown).
    func close() {
        closed.store(true, ordering: .relaxed)
        let connections = idle.withLock { connections in
            defer { connections.removeAll() }
            return connections
        }
        for connection in connections { connection.close() }
    }

    private func checkOut() async throws -> PipelinedWriterConnection {
        while let connection = idle.withLock({ $0.popLast() }) {
            if !connection.isClosed { return connection }
        }
        return try await PipelinedWriterConnection.connect(
            settings, on: eventLoop, prepare: CreateProductsBatchStatement.name,
            sql: CreateProductsBatchStatement.sql, parameterTypes: CreateProductsBatchStatement.wireParameterTypes
        )
    }

    private func checkIn(_ connection: PipelinedWriterConnection) {
        guard !closed.load(ordering: .relaxed) else {
            connection.close()
            return
        }
        idle.withLock { $0.append(connection) }
    }
}

/// Set by a statement's timer when it closed the connection.
private final class DeadlineFlag: Sendable {
    let fired = Atomic<Bool>(false)
}
