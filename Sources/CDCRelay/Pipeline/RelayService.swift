import Logging
import OutboxCore
import ServiceLifecycle

/// The CDC relay as a `Service`: opens a replication session from the slot, runs it, and on any
/// fault starts over from the slot with backoff. Only a graceful shutdown ends it normally.
///
/// Nothing is ever skipped: every restart resumes at the slot's confirmed position, which only
/// moves past events the broker acked. Restarts back off exponentially with jitter (one log line
/// per attempt with its reason); a relay halted on an invalid event keeps retrying and stays
/// `failed` on the same event.
public final class RelayService<Connector: ReplicationConnector>: Service {
    private let connector: Connector
    private let publishers: any EventPublisherFactory
    private let settings: RelaySettings
    private let router: TopicRouter
    /// What earlier sessions of this process learnt (acks above the slot, rejections).
    private let ledger = EventLedger()
    /// The acknowledged progress, for `ProgressRecorder`.
    public let progress: AckedProgressBoard
    public let metrics: RelayMetrics
    public let health: HealthState
    private let logger: Logger

    public init(
        connector: Connector,
        publishers: any EventPublisherFactory,
        settings: RelaySettings,
        metrics: RelayMetrics = RelayMetrics(),
        health: HealthState = HealthState(),
        progress: AckedProgressBoard = AckedProgressBoard(),
        logger: Logger
    ) throws {
        self.connector = connector
        self.progress = progress
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
                }
                let kind = connector.classify(error)
                let delay = kind == .slotBusy ? min(backoff.nextDelay(), .seconds(2)) : backoff.nextDelay()
                let summary = String(describing: error)
                let retry: Logger.Metadata = [
                    "error": "\(summary)", "class": "\(kind)", "attempt": "\(attempt)", "retry_in": "\(delay)",
                ]
                switch kind {
                case .streamFatal:
                    health.set(.failed, detail: summary)
                    logger.critical("replication cannot continue without losing events; stopping", metadata: ["error": "\(summary)"])
                    throw RelayError(code: .fatalReplication, underlying: error)
                case .slotBusy:
                    if health.set(.standby, detail: summary) {
                        logger.notice("slot \(settings.slotName) is in use by another relay; waiting as a standby")
                    }
                case .eventPermanent:
                    // Only `halt` throws for an event; `dead_letter` publishes it to the dead-letter topic.
                    metrics.sessionFailures.increment()
                    let halt = HaltReport(error)
                    health.halt(at: halt.lsn ?? 0, detail: halt.detail)
                    logger.error(
                        "halted on an invalid outbox event: nothing past it is published or confirmed; fix the cause, or restart with relay.invalid_event_policy=dead_letter",
                        metadata: retry.merging(halt.metadata) { $1 })
                case .transient:
                    metrics.sessionFailures.increment()
                    health.set(.reconnecting, detail: summary)
                    logger.error("replication session ended; restarting from the slot", metadata: retry)
                }
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
            ledger: ledger,
            progress: progress,
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
            // The session already let in-flight events land and sent its final status.
            await start.source.close()
            await publisher.close()
            throw error
        }
    }
}

/// What the logs and `/health` say about an invalid event the relay halted on.
struct HaltReport {
    var lsn: UInt64?
    var eventID: Int64?
    var reason: String

    init(_ error: any Error) {
        switch error {
        case let error as RelayPipelineError:
            lsn = error.lsn
            eventID = error.eventID
            reason = error.mapping.map { "\($0)" } ?? "\(error)"
        case let error as RelayError:
            lsn = error.lsn
            eventID = error.eventID
            reason = error.reason.map { "\($0)" } ?? "\(error)"
        default:
            reason = "\(error)"
        }
    }

    var detail: String {
        var text = "halted on invalid event"
        if let eventID { text += " \(eventID)" }
        if let lsn { text += " at LSN \(LSNFormat.string(lsn))" }
        return text + ": \(reason)"
    }

    var metadata: Logger.Metadata {
        var metadata: Logger.Metadata = ["reason": "\(reason)"]
        if let eventID { metadata["event_id"] = "\(eventID)" }
        if let lsn { metadata["commit_lsn"] = "\(LSNFormat.string(lsn))" }
        return metadata
    }
}
