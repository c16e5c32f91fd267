import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// Writes the creates of the requests one event loop serves, on Postgres connections of its own
/// that live on that same loop. A create then never leaves its thread: no hop to a pooled
/// connection on another loop and back, and no pool lease per statement. Its ``batcher`` makes
/// concurrent creates share statements, so it needs at most one connection per statement slot.
final class CreateWriter: Sendable {
    let eventLoop: any EventLoop
    let batcher: CreateBatcher
    private let configuration: PostgresConnection.Configuration
    private let idle = Mutex<[PostgresConnection]>([])
    private let connectionIDs: Atomic<Int>
    private let closed = Atomic<Bool>(false)

    /// `firstConnectionID`: connections are numbered from here (for Postgres log lines).
    init(eventLoop: any EventLoop, configuration: PostgresConnection.Configuration, batcher: CreateBatcher, firstConnectionID: Int) {
        self.eventLoop = eventLoop
        self.configuration = configuration
        self.batcher = batcher
        self.connectionIDs = Atomic(firstConnectionID)
    }

    /// Runs a create statement on a connection of this writer, opening one if none is idle; returns
    /// its first row. If the statement is not done within `timeout`
    /// the connection is closed, which ends the statement with an error (reported as
    /// ``DeadlineExceeded``); a connection that failed is dropped so the next statement
    /// reconnects, while one that only saw a server error (a constraint, a trigger) is kept.
    func execute<Statement: PostgresPreparedStatement>(
        _ statement: Statement, timeout: Duration, logger: Logger
    ) async throws -> Statement.Row? {
        let connection = try await checkOut(logger: logger)
        let deadline = DeadlineFlag()
        let timer = eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            deadline.fired.store(true, ordering: .relaxed)
            connection.closeWithoutWaiting()
        }
        do {
            var first: Statement.Row?
            for try await row in try await connection.execute(statement, logger: logger) where first == nil { first = row }
            timer.cancel()
            checkIn(connection)
            return first
        } catch {
            timer.cancel()
            if deadline.fired.load(ordering: .relaxed) { throw DeadlineExceeded(limit: timeout) }
            if let error = error as? PSQLError, error.code == .server, !connection.isClosed {
                checkIn(connection)
            } else {
                connection.closeWithoutWaiting()
            }
            throw error
        }
    }

    /// Closes the idle connections and makes later ones close on return (at shutdown).
    func close() async {
        closed.store(true, ordering: .relaxed)
        let connections = idle.withLock { connections in
            defer { connections.removeAll() }
            return connections
        }
        for connection in connections { try? await connection.close() }
    }

    private func checkOut(logger: Logger) async throws -> PostgresConnection {
        while let connection = idle.withLock({ $0.popLast() }) {
            if !connection.isClosed { return connection }
        }
        let id = connectionIDs.wrappingAdd(1, ordering: .relaxed).oldValue
        return try await PostgresConnection.connect(on: eventLoop, configuration: configuration, id: id, logger: logger)
    }

    private func checkIn(_ connection: PostgresConnection) {
        guard !closed.load(ordering: .relaxed) else {
            connection.closeWithoutWaiting()
            return
        }
        idle.withLock { $0.append(connection) }
    }
}

/// Set by a statement's timer when it closed the connection.
private final class DeadlineFlag: Sendable {
    let fired = Atomic<Bool>(false)
}

extension PostgresConnection {
    /// Starts closing; whatever runs on the connection fails with "connection closed".
    fileprivate func closeWithoutWaiting() {
        let _: EventLoopFuture<Void> = close()
    }
}
