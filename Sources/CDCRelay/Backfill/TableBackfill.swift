import Logging
import OutboxCore
import Synchronization

/// Publishes a backfill run's manifest from the table, in id order, throttled, with progress.
///
/// Each event keeps its event id; its sequence id is the event id itself, under a producer name
/// of the run's own (`outbox-relay-backfill-<name>`): ids increase along the manifest, so a rerun
/// after a crash sends the unacknowledged rows again under the same producer and sequence ids (a
/// broker with deduplication drops them), and never under the stream's producer.
///
/// Progress is committed every `flushEvery` pages once the broker acknowledged all of them (the
/// next page is read meanwhile); a rerun starts after the last committed page.
public struct TableBackfill: Sendable {
    public struct Summary: Sendable, Hashable {
        public var published: Int64
        public var invalid: Int64
        /// Manifest rows no longer in the table (removed since the snapshot).
        public var gone: Int64
        public var seconds: Double
    }

    let store: BackfillStore
    let publishers: any EventPublisherFactory
    let router: TopicRouter
    let rate: Int
    let pageSize: Int
    /// Pages sent between two waits for every acknowledgement (and a progress commit).
    var flushEvery = 5
    let logger: Logger
    let progress: @Sendable (String) -> Void

    public static func producerName(backfill name: String) -> String { "outbox-relay-backfill-\(name)" }

    func run(_ initial: BackfillRun) async throws(BackfillError) -> Summary {
        let columns = try await store.columns()
        let publisher: any EventPublisher
        do {
            publisher = try await publishers.makePublisher()
        } catch {
            throw BackfillError(code: .publishFailed, message: "cannot reach the broker: \(error)")
        }
        do {
            let summary = try await publish(initial, columns: columns, publisher: publisher)
            await publisher.close()
            return summary
        } catch {
            await publisher.close()
            throw error
        }
    }

    private func publish(_ initial: BackfillRun, columns: [String], publisher: any EventPublisher) async throws(BackfillError) -> Summary {
        let mapper = OutboxRowMapper()
        let layout: OutboxColumnLayout
        do {
            layout = try OutboxColumnLayout(columnNames: columns, mapping: store.mapping)
        } catch {
            throw BackfillError(code: .selectionUnsupported, message: "the outbox does not fit relay.columns: \(error)")
        }
        var run = initial
        var throttle = BackfillThrottle(rate: rate)
        var gone: Int64 = 0
        var published: Int64 = 0
        let clock = ContinuousClock()
        let started = clock.now
        var lastLine = started
        var lineDone = run.done
        let failures = SendFailures()
        var sentID = run.lastID
        var unflushedPages = 0
        var next = try await store.page(name: run.name, afterID: sentID, limit: pageSize, columns: columns)
        while let last = next.last {
            let page = next
            sentID = last.id
            // Read the next page while this one is published.
            let store = self.store
            let name = run.name
            let pageSize = self.pageSize
            let afterID = sentID
            let prefetch = Task { () async -> Result<[(id: Int64, values: [String?]?)], BackfillError> in
                do throws(BackfillError) {
                    return .success(try await store.page(name: name, afterID: afterID, limit: pageSize, columns: columns))
                } catch {
                    return .failure(error)
                }
            }
            for entry in page {
                guard let text = entry.values else {
                    gone += 1
                    continue
                }
                let message: OutboxMessage
                do {
                    let values: [ColumnValue] = text.map { $0.map { .text(Array($0.utf8)) } ?? .null }
                    // The commit time is not in the table: only an outbox without created_at uses it.
                    let event = try mapper.event(
                        from: values, layout: layout, commitTime: OutboxTimestamp(microsecondsSinceEpoch: UnixMicroseconds.now()))
                    message = OutboxMessage(event: event, topic: try router.topic(for: event), sequenceID: event.id)
                } catch {
                    // Reported (count, log with the id), never published half-mapped.
                    run.invalid += 1
                    logger.error("outbox row does not map; not published", metadata: ["event_id": "\(entry.id)", "error": "\(error)"])
                    continue
                }
                let wait = throttle.delay(before: 1, now: clock.now)
                if wait > .zero { try? await Task.sleep(for: wait) }
                do {
                    _ = try await publisher.publish(message) { result in
                        if case .failure(let error) = result { failures.record("event \(message.eventID): \(error)") }
                    }
                } catch {
                    prefetch.cancel()
                    throw BackfillError(code: .publishFailed, message: "event \(message.eventID): \(error)")
                }
                published += 1
            }
            run.done += Int64(page.count)
            unflushedPages += 1
            switch await prefetch.value {
            case .success(let rows): next = rows
            case .failure(let error): throw error
            }
            if unflushedPages >= flushEvery || next.isEmpty {
                try await acknowledged(publisher, failures)
                unflushedPages = 0
                run.lastID = sentID
                try await store.recordProgress(name: run.name, done: run.done, invalid: run.invalid, lastID: last.id)
            }
            let now = clock.now
            if now - lastLine >= .seconds(1) {
                progress(BackfillProgressLine(name: run.name, done: run.done, total: run.total, rowsPerSecond: Self.rate(run.done - lineDone, now - lastLine)).text)
                lastLine = now
                lineDone = run.done
            }
        }
        try await store.finish(name: run.name)
        let elapsed = clock.now - started
        progress(BackfillProgressLine(name: run.name, done: run.done, total: run.total, rowsPerSecond: Self.rate(published, elapsed)).text)
        return Summary(published: published, invalid: run.invalid, gone: gone, seconds: elapsed.fractionalSeconds)
    }

    /// Waits until the broker acknowledged everything handed over; a failed send stops the run.
    private func acknowledged(_ publisher: any EventPublisher, _ failures: SendFailures) async throws(BackfillError) {
        do {
            try await publisher.flush()
        } catch {
            throw BackfillError(code: .publishFailed, message: "\(error)")
        }
        if let failure = failures.first {
            throw BackfillError(code: .publishFailed, message: failure)
        }
    }

    static func rate(_ rows: Int64, _ duration: Duration) -> Double {
        let seconds = duration.fractionalSeconds
        return seconds > 0 ? Double(rows) / seconds : 0
    }
}

/// Broker answers that refused a send, recorded from completion handlers on any thread.
final class SendFailures: Sendable {
    private let failures = Mutex<[String]>([])

    func record(_ failure: String) {
        failures.withLock { $0.append(failure) }
    }

    var first: String? { failures.withLock { $0.first } }
}
