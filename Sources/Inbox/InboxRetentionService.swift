import Logging
import PostgresNIO
import ServiceLifecycle

/// Deletes inbox rows older than the retention, at start and then periodically, in bounded
/// chunks so no long transaction holds locks against the lanes.
public struct InboxRetentionService: Service {
    let postgres: PostgresClient
    let subscription: String
    let retention: Duration
    let interval: Duration
    let logger: Logger

    public init(postgres: PostgresClient, subscription: String, retention: Duration, interval: Duration = .seconds(3600), logger: Logger) {
        self.postgres = postgres
        self.subscription = subscription
        self.retention = retention
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully {
            do {
                let deleted = try await deleteExpired()
                if deleted > 0 { logger.info("expired inbox rows deleted", metadata: ["rows": "\(deleted)"]) }
            } catch {
                logger.warning("inbox retention failed; next run retries", metadata: ["error": "\(error)"])
            }
            try? await cancelOnGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// Rows deleted.
    @discardableResult
    public func deleteExpired(chunk: Int = 10_000) async throws -> Int {
        let seconds = retention.components.seconds
        var total = 0
        while true {
            let rows = try await postgres.query("""
                WITH expired AS (
                    SELECT subscription, event_id FROM inbox
                    WHERE subscription = \(subscription) AND processed_at < now() - make_interval(secs => \(Double(seconds)))
                    LIMIT \(chunk))
                DELETE FROM inbox i USING expired e
                WHERE i.subscription = e.subscription AND i.event_id = e.event_id
                RETURNING 1
                """, logger: logger)
            var count = 0
            for try await _ in rows { count += 1 }
            total += count
            if count < chunk { return total }
        }
    }
}
