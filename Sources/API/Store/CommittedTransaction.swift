import Logging
import PostgresNIO

/// Runs `body` inside `BEGIN` … `COMMIT` on one leased pool connection and returns only after the
/// `COMMIT` completed, so a write the API reports is committed.
///
/// Why not one statement in an implicit transaction: in the extended query protocol the server
/// sends CommandComplete when the statement has run but commits only when it processes Sync, and
/// PostgresNIO completes a query at CommandComplete. A crash (or a commit-time failure) between
/// the two would lose a write the client was told succeeded. An explicit `COMMIT` is a statement
/// of its own whose completion means the commit is done (WAL flushed, with the server's
/// `synchronous_commit`).
///
/// Errors are passed through unwrapped (unlike PostgresNIO's `withTransaction`), so
/// ``DatabaseErrorClassifier`` still sees the server's SQLSTATE. A failed `COMMIT` means the
/// outcome is unknown to us; the caller reports it as a failure, never as success. If the body
/// failed and the `ROLLBACK` fails too (a dead connection, or a cancelled task), the connection is
/// closed so the pool never hands out a connection left inside a transaction.
func withCommittedTransaction<T: Sendable>(
    on client: PostgresClient,
    logger: Logger,
    _ body: (PostgresConnection) async throws -> T
) async throws -> T {
    try await client.withConnection { connection in
        try await connection.query("BEGIN", logger: logger)
        let value: T
        do {
            value = try await body(connection)
        } catch {
            do {
                try await connection.query("ROLLBACK", logger: logger)
            } catch {
                try? await connection.close()
            }
            throw error
        }
        do {
            try await connection.query("COMMIT", logger: logger)
        } catch {
            // Unknown outcome; make sure the connection does not return to the pool mid-transaction.
            try? await connection.close()
            throw error
        }
        return value
    }
}
