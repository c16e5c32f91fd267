import Logging
import ServiceLifecycle
import Synchronization
import OutboxCore
import PulsarClient
import Testing

@testable import CDCRelay

@Suite struct RelayServiceTests {
    static let columns = ["id", "aggregate_type", "aggregate_id", "event_type", "payload", "headers", "created_at"]

    static func settings(maxInFlight: Int = 100) -> RelaySettings {
        RelaySettings(
            topicName: "persistent://public/default/products", slotName: "test_slot", maxInFlight: maxInFlight,
            statusInterval: .milliseconds(50), shutdownTimeout: .seconds(2),
            reconnectBackoff: Backoff(initial: .milliseconds(10), maximum: .milliseconds(50)))
    }

    static func feedTransaction(_ source: FakeReplicationSource, commitLSN: UInt64, ids: [Int64], withRelation: Bool = false) {
        if withRelation {
            source.feed.yield(.relation(id: 1, namespace: "public", name: "outbox", columnNames: columns))
        }
        source.feed.yield(.begin(finalLSN: commitLSN, commitTime: 0, xid: 1))
        for id in ids {
            let values = [id.description, "product", "agg-\(id % 3)", "product.created", "{}", "{}", "2026-11-29 20:08:23+00"]
            source.feed.yield(.insert(relationID: 1, values: values.map { .text(Array($0.utf8)) }))
        }
        source.feed.yield(.commit(commitLSN: commitLSN, endLSN: commitLSN + 0x30))
    }

    /// Runs the service in a group; `body` drives it, then the group shuts down gracefully.
    static func withService(
        connector: FakeConnector, publisher: @escaping @Sendable () -> FakePublisher, settings: RelaySettings = settings(),
        _ body: (RelayService<FakeConnector>) async throws -> Void
    ) async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let service = try RelayService(
            connector: connector, publishers: FakePublisherFactory(make: publisher), settings: settings, logger: logger)
        let group = ServiceGroup(services: [service], gracefulShutdownSignals: [], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await body(service)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test func publishesAndConfirmsAfterAcks() async throws {
        let source = FakeReplicationSource()
        let publisher = FakePublisher()
        try await Self.withService(connector: FakeConnector(sources: [source]), publisher: { publisher }) { service in
            Self.feedTransaction(source, commitLSN: 0x1000, ids: [1, 2, 3], withRelation: true)
            #expect(await eventually { publisher.sent.count == 3 })
            try await Task.sleep(for: .milliseconds(150))
            #expect(source.statuses.allSatisfy { $0.flushed < 0x1030 })
            publisher.complete(3)
            #expect(await eventually { source.statuses.last?.flushed == 0x1030 })
            #expect(publisher.sent.map(\.properties["event_id"]) == ["1", "2", "3"])
            #expect(service.health.isReady)
        }
    }

    @Test func windowStopsReadingUntilAcksArrive() async throws {
        let source = FakeReplicationSource()
        let publisher = FakePublisher()
        try await Self.withService(
            connector: FakeConnector(sources: [source]), publisher: { publisher }, settings: Self.settings(maxInFlight: 3)
        ) { _ in
            Self.feedTransaction(source, commitLSN: 0x1000, ids: Array(1...10), withRelation: true)
            #expect(await eventually { publisher.sent.count == 3 })
            try await Task.sleep(for: .milliseconds(100))
            #expect(publisher.sent.count == 3)
            publisher.complete(2)
            #expect(await eventually { publisher.sent.count == 5 })
            publisher.complete(5)
            #expect(await eventually { publisher.sent.count == 8 })
            publisher.complete(10)
            #expect(await eventually { publisher.sent.count == 10 })
            publisher.complete(10)
            #expect(await eventually { source.statuses.last?.flushed == 0x1030 })
        }
    }

    @Test func statusIsSentWhileStalled() async throws {
        let source = FakeReplicationSource()
        let publisher = FakePublisher()
        try await Self.withService(
            connector: FakeConnector(sources: [source], confirmedLSN: 0x500), publisher: { publisher },
            settings: Self.settings(maxInFlight: 1)
        ) { _ in
            Self.feedTransaction(source, commitLSN: 0x1000, ids: [1, 2], withRelation: true)
            #expect(await eventually { publisher.sent.count == 1 })
            let before = source.statuses.count
            try await Task.sleep(for: .milliseconds(300))
            #expect(source.statuses.count > before + 2)
            #expect(source.statuses.allSatisfy { $0.flushed == 0x500 })
            publisher.complete(2)
            #expect(await eventually { publisher.sent.count == 2 })
            publisher.complete(2)
        }
    }

    @Test func keepaliveWithReplyRequestedIsAnsweredAndIdleWALConfirmed() async throws {
        let source = FakeReplicationSource()
        try await Self.withService(
            connector: FakeConnector(sources: [source], confirmedLSN: 0x500), publisher: { FakePublisher(autoAck: true) },
            settings: RelaySettings(topicName: "t", slotName: "s", statusInterval: .seconds(60))
        ) { _ in
            source.feed.yield(.keepalive(walEnd: 0x8000, replyRequested: true))
            #expect(await eventually { source.statuses.contains { $0.flushed == 0x8000 } })
        }
    }

    @Test func publishFailureStopsConfirmingAndRestartsFromTheSlot() async throws {
        let first = FakeReplicationSource()
        let second = FakeReplicationSource()
        let publishers = Mutex<[FakePublisher]>([])
        let connector = FakeConnector(sources: [first, second], confirmedLSN: 0x500)
        try await Self.withService(
            connector: connector,
            publisher: {
                let publisher = FakePublisher()
                publishers.withLock { $0.append(publisher) }
                return publisher
            }
        ) { service in
            Self.feedTransaction(first, commitLSN: 0x1000, ids: [1, 2], withRelation: true)
            Self.feedTransaction(first, commitLSN: 0x2000, ids: [3])
            #expect(await eventually { publishers.withLock { $0.first?.sent.count == 3 } })
            let firstPublisher = publishers.withLock { $0[0] }
            struct BrokerSaidNo: Error {}
            firstPublisher.complete(1, with: .failure(BrokerSaidNo()))
            firstPublisher.complete(2)  // later acks must not confirm anything
            #expect(await eventually { connector.connects == 2 })
            #expect(first.isClosed)
            #expect(firstPublisher.isClosed)
            #expect(first.statuses.allSatisfy { $0.flushed == 0x500 })
            #expect(service.metrics.registry.emitToString().contains("outbox_relay_publish_failures_total 1"))
            // The new session replays from the slot and confirms normally.
            Self.feedTransaction(second, commitLSN: 0x1000, ids: [1, 2], withRelation: true)
            // Event 2 was acked before the failure: this process remembers it and does not send it again.
            #expect(await eventually { publishers.withLock { $0.count == 2 && $0[1].sent.count == 1 } })
            let secondPublisher = publishers.withLock { $0[1] }
            #expect(secondPublisher.sent.map(\.sequenceID) == [firstPublisher.sent[0].sequenceID])
            #expect(service.metrics.registry.emitToString().contains("outbox_relay_dedup_skips_total 1"))
            secondPublisher.complete(1)
            #expect(await eventually { second.statuses.last?.flushed == 0x1030 })
        }
    }

    @Test func gracefulShutdownDrainsInFlightAndSendsFinalStatus() async throws {
        let source = FakeReplicationSource()
        let publisher = FakePublisher()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let service = try RelayService(
            connector: FakeConnector(sources: [source]), publishers: FakePublisherFactory(make: { publisher }),
            settings: RelaySettings(topicName: "t", slotName: "s", statusInterval: .seconds(60), shutdownTimeout: .seconds(5)),
            logger: logger)
        let group = ServiceGroup(services: [service], gracefulShutdownSignals: [], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            Self.feedTransaction(source, commitLSN: 0x1000, ids: [1, 2, 3], withRelation: true)
            #expect(await eventually { publisher.sent.count == 3 })
            await group.triggerGracefulShutdown()
            try await Task.sleep(for: .milliseconds(100))
            // More input after shutdown started is not read.
            Self.feedTransaction(source, commitLSN: 0x2000, ids: [4])
            try await Task.sleep(for: .milliseconds(100))
            #expect(publisher.sent.count == 3)
            publisher.complete(3)
            try await tasks.waitForAll()
        }
        #expect(source.statuses.last?.flushed == 0x1030)
        #expect(publisher.isClosed)
    }

    @Test func dedupSkipsCountAsAcked() async throws {
        let source = FakeReplicationSource()
        let skipUpTo = Int64(0x1000 << 11) + 1  // the first two events of the transaction
        let publisher = FakePublisher(skipUpTo: skipUpTo)
        try await Self.withService(connector: FakeConnector(sources: [source]), publisher: { publisher }) { service in
            Self.feedTransaction(source, commitLSN: 0x1000, ids: [1, 2, 3], withRelation: true)
            #expect(await eventually { publisher.sent.count == 1 })
            #expect(publisher.sent.first?.properties["event_id"] == "3")
            publisher.complete(1)
            #expect(await eventually { source.statuses.last?.flushed == 0x1030 })
            #expect(service.metrics.registry.emitToString().contains("outbox_relay_dedup_skips_total 2"))
            #expect(service.metrics.registry.emitToString().contains("outbox_relay_events_published_total 1"))
        }
    }

    static func feedUnmappableRow(_ source: FakeReplicationSource) {
        source.feed.yield(.relation(id: 1, namespace: "public", name: "outbox", columnNames: Self.columns))
        source.feed.yield(.begin(finalLSN: 0x1000, commitTime: 0, xid: 1))
        source.feed.yield(.insert(relationID: 1, values: Array(repeating: .text(Array("x".utf8)), count: 7)))
        source.feed.yield(.commit(commitLSN: 0x1000, endLSN: 0x1030))
    }

    @Test func haltNeverSkipsTheEventAndStaysFailedOnIt() async throws {
        let sources = (0..<3).map { _ in FakeReplicationSource() }
        let connector = FakeConnector(sources: sources, confirmedLSN: 0x500)
        let publisher = FakePublisher(autoAck: true)
        var settings = Self.settings()
        settings.invalidEvents.policy = .halt
        try await Self.withService(connector: connector, publisher: { publisher }, settings: settings) { service in
            Self.feedUnmappableRow(sources[0])
            #expect(await eventually { connector.connects == 2 })
            #expect(service.health.status == .failed)
            #expect(service.health.detail?.contains("halted on invalid event at LSN 0/1000") == true)
            Self.feedUnmappableRow(sources[1])
            #expect(await eventually { connector.connects == 3 })
            #expect(service.health.status == .failed, "a retry halts on the same event")
            #expect(publisher.sent.isEmpty)
            #expect(sources.allSatisfy { $0.statuses.allSatisfy { $0.flushed == 0x500 } })
        }
    }

    @Test func deadLetterPublishesTheRowInItsPlaceAndConfirmsPastIt() async throws {
        let source = FakeReplicationSource()
        let connector = FakeConnector(sources: [source], confirmedLSN: 0x500)
        let publisher = FakePublisher(autoAck: true)
        try await Self.withService(connector: connector, publisher: { publisher }) { service in
            Self.feedUnmappableRow(source)
            #expect(await eventually { source.statuses.last?.flushed == 0x1030 })
            #expect(publisher.sent.map(\.topic) == ["persistent://public/default/outbox-dead-letter"])
            #expect(publisher.sent.first?.properties["dead_letter_reason"] == "invalidInteger")
            #expect(publisher.sent.first?.properties["slot"] == "test_slot")
            #expect(service.metrics.registry.emitToString().contains(#"outbox_relay_events_dead_lettered_total{reason="invalidInteger"} 1"#))
            #expect(service.health.status == .streaming)
            #expect(service.health.deadLettered == 1)
            #expect(connector.connects == 1)
        }
    }

    /// A broker that refuses a handed-over event for good: the session restarts (final status
    /// first) and the replay dead-letters that event in WAL order instead of failing on it again.
    @Test func eventRejectedForGoodIsDeadLetteredByTheNextSession() async throws {
        let first = FakeReplicationSource()
        let second = FakeReplicationSource()
        let publishers = Mutex<[FakePublisher]>([])
        let connector = FakeConnector(sources: [first, second], confirmedLSN: 0x500)
        try await Self.withService(
            connector: connector,
            publisher: {
                let publisher = FakePublisher()
                publishers.withLock { $0.append(publisher) }
                return publisher
            }
        ) { service in
            Self.feedTransaction(first, commitLSN: 0x1000, ids: [1], withRelation: true)
            Self.feedTransaction(first, commitLSN: 0x2000, ids: [2, 3])
            #expect(await eventually { publishers.withLock { $0.first?.sent.count == 3 } })
            let firstPublisher = publishers.withLock { $0[0] }
            firstPublisher.complete(1)
            firstPublisher.complete(1, with: .failure(PulsarClientError(code: .topicNotFound, message: "no such topic")))
            firstPublisher.complete(1)
            #expect(await eventually { connector.connects == 2 })
            // The final status of the failed session covers the acked prefix.
            #expect(first.statuses.last?.flushed == 0x1030)
            Self.feedTransaction(second, commitLSN: 0x2000, ids: [2, 3], withRelation: true)
            #expect(await eventually { publishers.withLock { $0.count == 2 && $0[1].sent.count == 1 } })
            let secondPublisher = publishers.withLock { $0[1] }
            let letter = try #require(secondPublisher.sent.first)
            #expect(letter.topic == "persistent://public/default/outbox-dead-letter")
            #expect(letter.sequenceID == firstPublisher.sent[1].sequenceID)
            #expect(letter.properties["dead_letter_reason"] == "brokerRejected")
            #expect(letter.properties["original_topic"] == "persistent://public/default/products")
            secondPublisher.complete(1)
            #expect(await eventually { second.statuses.last?.flushed == 0x2030 })
            #expect(service.health.deadLettered == 1)
        }
    }

    struct SlotInUse: Error {}
    struct SlotGone: Error {}

    @Test func busySlotMeansStandbyUntilItIsFree() async throws {
        let source = FakeReplicationSource()
        let connector = FakeConnector(
            sources: [source], connectFailures: [SlotInUse(), SlotInUse(), SlotInUse()],
            classifier: { $0 is SlotInUse ? .slotBusy : .transient })
        let publisher = FakePublisher(autoAck: true)
        try await Self.withService(connector: connector, publisher: { publisher }) { service in
            #expect(await eventually { connector.connects >= 1 && service.health.status == .standby })
            #expect(await eventually { connector.connects == 4 && service.health.status == .streaming })
            // Waiting as a standby is not a failure.
            #expect(service.metrics.registry.emitToString().contains("outbox_relay_session_failures_total 0"))
            Self.feedTransaction(source, commitLSN: 0x1000, ids: [1], withRelation: true)
            #expect(await eventually { publisher.sent.count == 1 })
        }
    }

    @Test func lostSlotStopsTheRelayInsteadOfSkippingEvents() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let connector = FakeConnector(sources: [], connectFailures: [SlotGone()], classifier: { $0 is SlotGone ? .streamFatal : .transient })
        let service = try RelayService(
            connector: connector, publishers: FakePublisherFactory(make: { FakePublisher() }), settings: Self.settings(), logger: logger)
        let error = await #expect(throws: RelayError.self) { try await service.run() }
        #expect(error?.code == .fatalReplication)
        #expect(service.health.status == .failed)
        #expect(connector.connects == 1)
    }

    @Test func brokerSilenceIsReportedAsNotReadyWithoutEndingTheSession() async throws {
        let source = FakeReplicationSource()
        let publisher = FakePublisher()
        var settings = Self.settings()
        settings.stallThreshold = .milliseconds(200)
        let connector = FakeConnector(sources: [source], confirmedLSN: 0x500)
        try await Self.withService(connector: connector, publisher: { publisher }, settings: settings) { service in
            Self.feedTransaction(source, commitLSN: 0x1000, ids: [1, 2], withRelation: true)
            #expect(await eventually { publisher.sent.count == 2 })
            #expect(service.health.isReady)
            #expect(await eventually { service.health.status == .reconnecting })
            #expect(service.health.detail?.contains("2 events in flight") == true)
            #expect(source.statuses.allSatisfy { $0.flushed == 0x500 })
            publisher.complete(2)
            #expect(await eventually { service.health.status == .streaming })
            #expect(await eventually { source.statuses.last?.flushed == 0x1030 })
            #expect(connector.connects == 1, "the same session waited and resumed")
        }
    }

    @Test func publishFailureMeansNotReadyUntilTheNextSessionStreams() async throws {
        let first = FakeReplicationSource()
        let second = FakeReplicationSource()
        let publishers = Mutex<[FakePublisher]>([])
        let connector = FakeConnector(sources: [first, second], confirmedLSN: 0x500)
        var settings = Self.settings()
        settings.reconnectBackoff = Backoff(initial: .milliseconds(300), maximum: .milliseconds(300))
        try await Self.withService(
            connector: connector,
            publisher: {
                let publisher = FakePublisher()
                publishers.withLock { $0.append(publisher) }
                return publisher
            },
            settings: settings
        ) { service in
            Self.feedTransaction(first, commitLSN: 0x1000, ids: [1], withRelation: true)
            #expect(await eventually { publishers.withLock { $0.first?.sent.count == 1 } })
            struct TopicTerminated: Error {}
            publishers.withLock { $0[0] }.complete(1, with: .failure(TopicTerminated()))
            #expect(await eventually { service.health.status == .reconnecting })
            #expect(service.health.detail?.contains("publishFailed") == true)
            #expect(await eventually { connector.connects == 2 && service.health.status == .streaming })
        }
    }
}
