import Logging
import ServiceLifecycle

/// Periodically deletes expired idempotency keys. Expired keys are already treated as new by the
/// create statement; this only keeps the table small. Stops on graceful shutdown.
public struct IdempotencyKeyCleanupService: Service {
    let store: ProductStore
    let interval: Duration
    let logger: Logger
    let metrics: APIMetrics?

    public init(store: ProductStore, interval: Duration, logger: Logger, metrics: APIMetrics? = nil) {
        self.store = store
        self.interval = interval
        self.logger = logger
        self.metrics = metrics
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let deleted = try await store.deleteExpiredIdempotencyKeys(logger: logger)
                    if deleted > 0 {
                        logger.info("deleted expired idempotency keys", metadata: ["count": "\(deleted)"])
                        metrics?.recordExpiredKeysDeleted(deleted)
                    }
                } catch {
                    if Task.isCancelled { return }  // shutting down, not a failure
                    // The database may be down; try again next round.
                    logger.warning("idempotency key cleanup failed", metadata: ["error": "\(error)"])
                }
                do { try await Task.sleep(for: interval) } catch { return }
            }
        }
    }
}
