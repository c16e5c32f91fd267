import Logging
import PostgresNIO

/// Runs one `InboxStateMachine.Action.runTransaction`: BEGIN, record the event ids (a conflict
/// does nothing), the handler for the new ones, COMMIT. Returns only after COMMIT's
/// ReadyForQuery, so the caller may acknowledge.
struct InboxTransactionRunner<Handler: InboxHandler>: Sendable {
    struct Outcome: Sendable {
        var processed: Int
        var duplicates: Int
    }

    let postgres: PostgresClient
    let subscription: String
    let handler: Handler
    let metrics: InboxMetrics
    let logger: Logger

    static var insertStatement: String {
        // Sorted, so two instances inserting overlapping batches take row locks in one order.
        """
        INSERT INTO inbox (subscription, event_id)
        SELECT $1, e FROM unnest($2::bigint[]) AS e ORDER BY e
        ON CONFLICT DO NOTHING RETURNING event_id
        """
    }

    func run(_ batch: InboxBatch) async -> Result<Outcome, InboxStateMachine.Failure> {
        do {
            return try await postgres.withConnection { connection in
                try await transaction(batch, on: connection)
            }
        } catch {
            return .failure(.infrastructure("\(error)"))
        }
    }

    private func transaction(_ batch: InboxBatch, on connection: PostgresConnection) async throws -> Result<Outcome, InboxStateMachine.Failure> {
        let ids = batch.entries.compactMap(\.eventID)
        do {
            try await connection.query("BEGIN", logger: logger)
            var fresh = Set<Int64>()
            let rows = try await connection.query(
                PostgresQuery(unsafeSQL: Self.insertStatement, binds: Self.binds(subscription, ids)), logger: logger)
            for try await eventID in rows.decode(Int64.self) { fresh.insert(eventID) }
            // A message delivered twice in one batch runs once: the first copy takes the id.
            var new: [InboxEntry] = []
            for entry in batch.entries {
                guard let id = entry.eventID, fresh.remove(id) != nil else { continue }
                new.append(entry)
            }
            if !new.isEmpty {
                let started = ContinuousClock.now
                do {
                    try await handler.handle(new, on: connection, logger: logger)
                } catch {
                    await rollback(connection)
                    return .failure(Self.classify(error))
                }
                metrics.handlerLatency.record(ContinuousClock.now - started)
            }
            try await connection.query("COMMIT", logger: logger)
            return .success(Outcome(processed: new.count, duplicates: batch.count - new.count))
        } catch {
            await rollback(connection)
            return .failure(.infrastructure("\(error)"))
        }
    }

    private func rollback(_ connection: PostgresConnection) async {
        _ = try? await connection.query("ROLLBACK", logger: logger)
    }

    private static func binds(_ subscription: String, _ ids: [Int64]) -> PostgresBindings {
        var binds = PostgresBindings(capacity: 2)
        binds.append(subscription)
        binds.append(ids)
        return binds
    }

    /// A lost connection is not the handler's fault; an SQL error or anything else it throws is.
    static func classify(_ error: any Error) -> InboxStateMachine.Failure {
        if let error = error as? PSQLError {
            if error.code != .server { return .infrastructure("\(error)") }
            // Deadlocks and serialization failures between lanes or instances: just run again.
            if let state = error.serverInfo?[.sqlState], state == "40P01" || state == "40001" {
                return .infrastructure("\(error)")
            }
        }
        return .handler("\(error)")
    }
}
