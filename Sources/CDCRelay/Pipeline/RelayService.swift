import Logging
import ServiceLifecycle

/// The CDC relay as a `Service`: opens a replication session from the slot, runs it, and on any
/// fault starts over from the slot with backoff. Only a graceful shutdown ends it normally.
///
/// Nothing is ever skipped: every restart resumes at the slot's confirmed position, which only
/// moves past events the broker acked.
public final class RelayService<Connector: ReplicationConnector>: Service {
    private let connector: Connector
    private let publishers: any EventPublisherFactory
    private let settings: RelaySettings
    private let router: TopicRouter
    public let metrics: RelayMetrics
    public let health: HealthState
    private let logger: Logger

    public init(
        connector: Connector,
        publishers: any EventPublisherFactory,
        settings: RelaySettings,
        metrics: RelayMetrics = RelayMetrics(),
        health: HealthState = HealthState(),
        logger: Logger
    ) throws {
        self.connector = connector
        self.publishers = publishers
        self.settings = settings
        do {
            self.router = try TopicRouter(topicName: settings.topicName)
        } catch {
            throw RelayError(code: .invalidConfiguration, underlying: error)
        }
        self.metrics = metrics
        self.health = health
        self.logger = logger
    }

    public func run() async throws {
        var backoff = settings.reconnectBackoff
        var attempt = 0
        var lastFailure: String?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if attempt > 0 { metrics.reconnects.increment() }
            attempt += 1
            let started = ContinuousClock.now
            do {
                let outcome = try await runOnce()
                switch outcome {
                case .drained(let confirmed):
                    logger.info("relay stopped", metadata: ["confirmed_lsn": "\(LSNFormat.string(confirmed))"])
                }
                health.set(.stopping)
                return
            } catch {
                if Task.isShuttingDownGracefully || Task.isCancelled {
                    health.set(.stopping)
                    return
                }
                // A session that ran for a while earns a fresh backoff; a crash loop does not.
                if ContinuousClock.now - started > .seconds(10) {
                    backoff.reset()
                    lastFailure = nil
                }
                let kind = (error as? RelayError).map { _ in ReplicationFailureKind.transient } ?? connector.classify(error)
                let summary = String(describing: error)
                switch kind {
                case .fatal:
                    health.set(.failed, detail: summary)
                    logger.critical("replication cannot continue without losing events; stopping", metadata: ["error": "\(summary)"])
                    throw RelayError(code: .fatalReplication, underlying: error)
                case .slotBusy:
                    if health.set(.standby, detail: summary) {
                        logger.notice("slot \(settings.slotName) is in use by another relay; waiting as a standby")
                    }
                case .transient:
                    metrics.sessionFailures.increment()
                    let isPublishFailure = (error as? RelayError)?.code == .publishFailed
                    health.set(isPublishFailure ? .failed : .reconnecting, detail: summary)
                    // One line per distinct failure, not one per retry.
                    if summary != lastFailure {
                        if isPublishFailure {
                            logger.error(
                                "the broker rejected an event for good: confirmation stopped, not ready; restarting from the slot with backoff",
                                metadata: ["error": "\(summary)"])
                        } else {
                            logger.error("replication session ended; restarting from the slot", metadata: ["error": "\(summary)"])
                        }
                    }
                    lastFailure = summary
                }
                let delay = kind == .slotBusy ? min(backoff.nextDelay(), .seconds(2)) : backoff.nextDelay()
                do {
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
                } catch {
                    health.set(.stopping)
                    return
                }
            }
        }
        health.set(.stopping)
    }

    private func runOnce() async throws -> RelaySession<Connector.Source>.Outcome {
        let publisher = try await publishers.makePublisher()
        let start: ReplicationStart<Connector.Source>
        do {
            start = try await connector.connect()
        } catch {
            await publisher.close()
            throw error
        }
        let session = RelaySession(
            source: start.source,
            confirmedLSN: start.confirmedLSN,
            publisher: publisher,
            router: router,
            settings: settings,
            metrics: metrics,
            health: health,
            logger: logger
        )
        if health.set(.streaming) {
            logger.info("streaming from slot", metadata: [
                "slot": "\(settings.slotName)", "confirmed_lsn": "\(LSNFormat.string(start.confirmedLSN))",
            ])
        }
        do {
            let outcome = try await session.run()
            await start.source.close()
            await publisher.close()
            return outcome
        } catch {
            await start.source.close()
            // Let what is already queued reach the broker (fewer duplicates on replay), bounded.
            _ = await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await publisher.flush() }
                group.addTask { try? await Task.sleep(for: .seconds(2)) }
                await group.next()
                group.cancelAll()
            }
            await publisher.close()
            throw error
        }
    }
}
