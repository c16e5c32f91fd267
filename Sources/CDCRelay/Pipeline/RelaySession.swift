#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Logging
import ServiceLifecycle
import Synchronization

/// One replication session: read → map → publish (bounded window) → confirm, until the stream
/// fails, a publish fails, or a graceful shutdown drains it.
///
/// Three concurrent parts share the pure `RelayPipeline` under a lock: the reader (the only task
/// pulling from the stream), broker completions (any thread), and the status timer.
///
/// However a session ends, it first lets in-flight events reach the broker (bounded) and sends a
/// final status covering the acknowledged prefix, so a restart does not publish them again.
final class RelaySession<Source: ReplicationSource>: Sendable {
    enum Outcome: Sendable {
        /// Graceful shutdown: stopped reading, drained, sent the final status.
        case drained(confirmedLSN: UInt64)
    }

    private let source: Source
    private let publisher: any EventPublisher
    private let settings: RelaySettings
    private let metrics: RelayMetrics
    private let health: HealthState
    private let logger: Logger
    private let pipeline: Mutex<RelayPipeline>
    private let window: InFlightWindow
    private let failures: AsyncStream<RelayError>
    private let failureSink: AsyncStream<RelayError>.Continuation
    /// Acks (and dedup skips) so far: the status loop notices a broker that stopped answering.
    private let settled = Atomic<UInt64>(0)
    /// Acks and rejections this process saw, across sessions.
    private let ledger: EventLedger
    /// Where the acknowledged progress goes for `ProgressRecorder`.
    private let progress: AckedProgressBoard
    /// Set once the final status after a failure was sent (it is attempted once).
    private let finishedAfterFailure = Atomic<Bool>(false)

    init(
        source: Source,
        confirmedLSN: UInt64,
        publisher: any EventPublisher,
        router: TopicRouter,
        settings: RelaySettings,
        ledger: EventLedger,
        progress: AckedProgressBoard,
        metrics: RelayMetrics,
        health: HealthState,
        logger: Logger
    ) {
        self.source = source
        self.progress = progress
        self.publisher = publisher
        self.settings = settings
        self.ledger = ledger
        self.metrics = metrics
        self.health = health
        self.logger = logger
        self.pipeline = Mutex(
            RelayPipeline(table: settings.table, columns: settings.columns, router: router, confirmedLSN: confirmedLSN, invalidEvents: settings.invalidEvents))
        self.window = InFlightWindow(capacity: settings.maxInFlight)
        (failures, failureSink) = AsyncStream.makeStream(of: RelayError.self, bufferingPolicy: .bufferingOldest(1))
    }

    var confirmedLSN: UInt64 { pipeline.withLock { $0.tracker.confirmedLSN } }

    /// Runs until an error (thrown) or a graceful shutdown (returns after draining).
    func run() async throws -> Outcome {
        metrics.confirmedLSN.set(Double(confirmedLSN))
        let stoppedGracefully: Bool
        do {
            stoppedGracefully = try await runParts()
        } catch {
            await finishAfterFailure()
            throw error
        }
        guard stoppedGracefully else { throw RelayError(code: .streamEnded) }
        return .drained(confirmedLSN: try await drain())
    }

    private func runParts() async throws -> Bool {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await failure in self.failures {
                    await self.finishAfterFailure()
                    // Unblock the reader even if it waits inside the stream.
                    await self.source.close()
                    throw failure
                }
                return false
            }
            group.addTask {
                try await self.statusLoop()
                return false
            }
            group.addTask {
                do {
                    try await cancelWhenGracefulShutdown { try await self.readLoop() }
                } catch {
                    if Task.isShuttingDownGracefully { return true }
                    throw error
                }
                return true
            }
            defer { group.cancelAll() }
            return try await group.next() ?? false
        }
    }

    /// Lets what is in flight reach the broker (bounded), then confirms the acknowledged prefix,
    /// so the next session starts after it instead of publishing it again.
    private func finishAfterFailure() async {
        guard finishedAfterFailure.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        let publisher = self.publisher
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await publisher.flush() }
            group.addTask { try? await Task.sleep(for: .seconds(2)) }
            await group.next()
            group.cancelAll()
        }
        let (positions, commitTime) = pipeline.withLock { ($0.standbyPositions, $0.tracker.confirmedCommitTime) }
        progress.post(AckedProgress(lsn: positions.flushed, commitTime: commitTime))
        do {
            try await source.sendStatus(positions, replyRequested: false)
            logger.info("final status sent before restarting", metadata: ["confirmed_lsn": "\(LSNFormat.string(positions.flushed))"])
        } catch {
            logger.debug("final status not sent; the stream is gone", metadata: ["error": "\(error)"])
        }
    }

    // MARK: reading

    private func readLoop() async throws {
        var inputs = source.makeInputs()
        while true {
            guard let input = try await inputs.next() else {
                throw RelayError(code: .streamEnded)
            }
            let action = try pipeline.withLock { pipeline throws(RelayPipelineError) in try pipeline.receive(input) }
            switch action {
            case .none:
                break
            case .ignoredInsert:
                metrics.ignoredInserts.increment()
            case .sendStatus(let positions):
                try await source.sendStatus(positions, replyRequested: false)
            case .publish(let publication):
                try await publish(publication)
            }
        }
    }

    private func publish(_ original: RelayPipeline.Publication) async throws {
        try await window.acquire()
        metrics.inFlight.set(Double(window.used))
        let (wasAcked, rejection) = ledger.withMemory { ($0.wasAcked(original.position), $0.rejection(of: original.position)) }
        if wasAcked {
            metrics.dedupSkips.increment()
            settle(original, countAsPublished: false)
            return
        }
        var publication = original
        if let rejection {
            // Refused for good in an earlier session: dead-letter it (or halt) in WAL order now.
            do {
                publication = try replacement(for: original, after: rejection)
            } catch {
                pipeline.withLock { $0.failed(original) }
                window.release()
                throw error
            }
        }
        let disposition: PublishDisposition
        let first = publication
        do {
            disposition = try await publisher.publish(first.message) { result in
                self.complete(first, result)
            }
        } catch where FailureClassifier.classify(error) == .eventPermanent && publication.deadLetter == nil {
            // The broker refused this event before it was sent (its topic, say): in order, now.
            let reason = DeadLetterReason(code: "brokerRejected", detail: "\(error)")
            do {
                let replacement = try deadLetter(first, reason: reason)
                publication = replacement
                disposition = try await publisher.publish(replacement.message) { result in
                    self.complete(replacement, result)
                }
            } catch {
                pipeline.withLock { $0.failed(original) }
                window.release()
                throw error
            }
        } catch {
            // Never handed over: whatever follows must stay unconfirmed.
            pipeline.withLock { $0.failed(publication) }
            window.release()
            throw error
        }
        if disposition == .skippedDuplicate {
            metrics.dedupSkips.increment()
            settle(publication, countAsPublished: false)
        }
    }

    /// What to send instead of an event the broker refused before: its dead letter; if that was
    /// refused too, a dead letter without the payload; if even that was refused, halt (skipping it
    /// would lose it).
    private func replacement(for publication: RelayPipeline.Publication, after rejection: EventMemory.Rejection) throws(RelayError) -> RelayPipeline.Publication {
        let level = rejection.attempts + (publication.deadLetter == nil ? 0 : 1)
        guard level < 3 else {
            throw RelayError(
                code: .invalidEvent, eventID: publication.message.eventID, sequenceID: publication.message.sequenceID,
                lsn: publication.position.commitLSN,
                reason: DeadLetterReason(code: "deadLetterRefused", detail: "the dead-letter topic refused it too: \(rejection.reason.detail)"))
        }
        var replaced = try deadLetter(publication, reason: rejection.reason)
        if level == 2 {
            replaced.message = DeadLetterMessage.withoutPayload(replaced.message)
        }
        return replaced
    }

    /// The dead letter that replaces an event the broker refused; under `halt`, the error.
    private func deadLetter(_ publication: RelayPipeline.Publication, reason: DeadLetterReason) throws(RelayError) -> RelayPipeline.Publication {
        let handling = settings.invalidEvents
        if publication.deadLetter != nil { return publication }
        guard handling.policy == .deadLetter else {
            throw RelayError(
                code: .invalidEvent, eventID: publication.message.eventID, sequenceID: publication.message.sequenceID,
                lsn: publication.position.commitLSN, reason: reason)
        }
        var replaced = publication
        replaced.deadLetter = reason
        replaced.message = DeadLetterMessage.make(
            rejected: publication.message, reason: reason, commitLSN: publication.position.commitLSN,
            commitTime: publication.commitTime,
            origin: DeadLetterOrigin(topic: handling.deadLetterTopic, slotName: handling.slotName, table: settings.table))
        return replaced
    }

    private func complete(_ publication: RelayPipeline.Publication, _ result: Result<Void, any Error>) {
        switch result {
        case .success:
            settle(publication, countAsPublished: true)
        case .failure(let error):
            if FailureClassifier.classify(error) == .eventPermanent {
                // Not retried as it is: the next session dead-letters it (or halts) in WAL order.
                ledger.withMemory { $0.reject(publication.position, reason: DeadLetterReason(code: "brokerRejected", detail: "\(error)")) }
            }
            pipeline.withLock { $0.failed(publication) }
            window.release()
            metrics.publishFailures.increment()
            metrics.inFlight.set(Double(window.used))
            failureSink.yield(
                RelayError(
                    code: .publishFailed,
                    underlying: error,
                    eventID: publication.message.eventID,
                    sequenceID: publication.message.sequenceID
                )
            )
        }
    }

    private func settle(_ publication: RelayPipeline.Publication, countAsPublished: Bool) {
        let outcome = pipeline.withLock { pipeline -> Result<UInt64, RelayPipelineError> in
            do throws(RelayPipelineError) {
                try pipeline.acked(publication)
                return .success(pipeline.tracker.confirmedLSN)
            } catch {
                return .failure(error)
            }
        }
        window.release()
        settled.add(1, ordering: .relaxed)
        metrics.inFlight.set(Double(window.used))
        if countAsPublished {
            ledger.withMemory { $0.acknowledged(publication.position) }
            if let reason = publication.deadLetter {
                metrics.deadLettered(reason: reason.code).increment()
                health.countDeadLetter()
                logger.warning("outbox row sent to the dead-letter topic", metadata: [
                    "reason": "\(reason.code)", "detail": "\(reason.detail)",
                    "event_id": "\(publication.message.eventID)", "commit_lsn": "\(LSNFormat.string(publication.position.commitLSN))",
                    "topic": "\(publication.message.topic)",
                ])
            } else {
                metrics.eventsPublished.increment()
            }
            let latency = UnixMicroseconds.now() - publication.commitTime
            metrics.publishLatency.recordNanoseconds(max(0, latency) * 1000)
        }
        switch outcome {
        case .success(let confirmed):
            metrics.confirmedLSN.set(Double(confirmed))
        case .failure(let error):
            failureSink.yield(RelayError(code: .streamEnded, underlying: error))
        }
    }

    // MARK: status

    /// Reports progress on a short tick when the confirmed LSN moved, and at least every
    /// `statusInterval` even when stalled (keeps wal_sender_timeout away while backpressured).
    private func statusLoop() async throws {
        let clock = ContinuousClock()
        let tick = min(settings.statusInterval, .milliseconds(500))
        var lastFlushed: UInt64? = nil
        var lastSent = clock.now
        var stall = BrokerStallDetector(threshold: settings.stallThreshold, now: clock.now)
        while true {
            try await Task.sleep(for: tick)
            watchBroker(&stall, now: clock.now)
            let (positions, lag, commitTime) = pipeline.withLock { ($0.standbyPositions, $0.tracker.lagBytes, $0.tracker.confirmedCommitTime) }
            progress.post(AckedProgress(lsn: positions.flushed, commitTime: commitTime))
            ledger.withMemory { $0.forget(before: positions.flushed) }
            if health.confirmed(positions.flushed) {
                logger.notice("moved past the event the relay was halted on; streaming", metadata: [
                    "confirmed_lsn": "\(LSNFormat.string(positions.flushed))",
                ])
            }
            metrics.lagBytes.set(Double(lag))
            metrics.confirmedLSN.set(Double(positions.flushed))
            if positions.flushed != lastFlushed || clock.now - lastSent >= settings.statusInterval {
                try await source.sendStatus(positions, replyRequested: false)
                lastFlushed = positions.flushed
                lastSent = clock.now
            }
        }
    }

    /// One log line each way; readiness follows the broker.
    private func watchBroker(_ detector: inout BrokerStallDetector, now: ContinuousClock.Instant) {
        switch detector.observe(settled: settled.load(ordering: .relaxed), inFlight: window.used, now: now) {
        case .none:
            break
        case .stalled(let inFlight, let silentFor):
            health.set(.reconnecting, detail: "no broker acknowledgement for \(silentFor) with \(inFlight) events in flight")
            logger.warning("waiting for the broker; nothing is confirmed meanwhile", metadata: ["in_flight": "\(inFlight)"])
        case .recovered:
            health.set(.streaming)
            logger.notice("the broker acknowledges again; streaming")
        }
    }

    // MARK: shutdown

    /// Waits (bounded) for in-flight acks, then reports the final position.
    private func drain() async throws -> UInt64 {
        let inFlight = window.used
        logger.info("draining in-flight events", metadata: ["in_flight": "\(inFlight)"])
        let drained = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                do {
                    try await self.window.waitUntilEmpty()
                    return true
                } catch {
                    return false
                }
            }
            group.addTask {
                try? await Task.sleep(for: self.settings.shutdownTimeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if !drained {
            logger.warning("shutdown timeout reached with events in flight; they will be replayed", metadata: ["in_flight": "\(window.used)"])
        }
        let (positions, commitTime) = pipeline.withLock { ($0.standbyPositions, $0.tracker.confirmedCommitTime) }
        progress.post(AckedProgress(lsn: positions.flushed, commitTime: commitTime))
        try await source.sendStatus(positions, replyRequested: false)
        logger.info("final status sent", metadata: ["confirmed_lsn": "\(LSNFormat.string(positions.flushed))"])
        return positions.flushed
    }
}

enum UnixMicroseconds {
    static func now() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000
    }
}
