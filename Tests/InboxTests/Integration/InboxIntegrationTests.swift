import CatalogProjector
import Foundation
import Logging
import NIOConcurrencyHelpers
import OutboxCore
import PostgresNIO
import PulsarClient
import Testing

@testable import Inbox

/// The Inbox on the real broker and Postgres: dead-lettering, two instances sharing a
/// Key_Shared subscription, per-key order.
@Suite(.enabled(if: InboxTestStack.shouldRun, "needs the local stack (scripts/test)"), .serialized, .timeLimit(.minutes(4)))
struct InboxIntegrationTests {
    /// The catalog handler, failing every time for one event id (counting the attempts where it
    /// ran alone: a group containing it fails once first and is then replayed one by one).
    struct FailingHandler: InboxHandler {
        let failingEventID: Int64
        let attempts = NIOLockedValueBox(0)
        struct Refused: Error {}

        func handle(_ entries: [InboxEntry], on connection: PostgresConnection, logger: Logger) async throws {
            if entries.contains(where: { $0.eventID == failingEventID }) {
                if entries.count == 1 { attempts.withLockedValue { $0 += 1 } }
                throw Refused()
            }
            try await CatalogHandler().handle(entries, on: connection, logger: logger)
        }
    }

    static func settings(_ fixture: CatalogFixture, subscription: String, type: SubscriptionType, maxRedeliveries: Int = 5) -> InboxSettings {
        InboxSettings(
            topic: fixture.topic, subscription: subscription, subscriptionType: type, lanes: 4,
            machine: .init(maxBatch: 100, maxRedeliveries: maxRedeliveries, backoff: Backoff(initial: .milliseconds(20), maximum: .milliseconds(200))))
    }

    @Test func aFailingEventIsRetriedThenDeadLetteredAndTheOthersAreProcessed() async throws {
        let fixture = try await CatalogFixture()
        defer { fixture.cleanUp() }
        // 40 products in 4 categories; event 1017 always fails; event 1005 arrives twice.
        var messages = (1...40).map { n in
            CatalogFixture.event(productID: Int64(n), eventID: 1000 + Int64(n), category: "c\(n % 4)", stock: Int64(n))
        }
        messages.insert(CatalogFixture.event(productID: 5, eventID: 1005, category: "c1", stock: 5), at: 20)
        try await fixture.publish(messages)

        let handler = FailingHandler(failingEventID: 1017)
        let postgres = fixture.makePostgres()
        let pulsar = fixture.makePulsar()
        let settings = Self.settings(fixture, subscription: "dlq-test", type: .failover, maxRedeliveries: 2)
        let inbox = InboxService(pulsar: pulsar, postgres: postgres, settings: settings, handler: handler, logger: fixture.logger)
        let running = RunningGroup([postgres, inbox], logger: fixture.logger)

        let caughtUp = try await InboxTestStack.waitUntil(timeout: .seconds(60)) {
            try fixture.productCount() == 39 && inbox.metrics.value("inbox_dead_lettered_total") == 1
        }
        #expect(caughtUp, "products \((try? fixture.productCount()) ?? -1), dead-lettered \(inbox.metrics.value("inbox_dead_lettered_total"))")
        try await running.stop()
        await pulsar.shutdown()

        // The first attempt and two redeliveries, then the DLQ.
        #expect(handler.attempts.withLockedValue { $0 } == 3)
        #expect(inbox.metrics.value("inbox_redeliveries_total") == 2)
        #expect(try fixture.value("SELECT count(*) FROM catalog_products WHERE event_id = 1017") == "0")
        #expect(try fixture.value("SELECT count(*) FROM inbox WHERE event_id = 1017") == "0")
        // The duplicate of 1005 was skipped: category c1 counts products 1, 5, 9, …, 37 once.
        let expected = (0..<4).map { c in
            let ids = (1...40).filter { $0 % 4 == c && $0 != 17 }
            return "c\(c)|\(ids.count)|\(ids.reduce(0, +))"
        }.joined(separator: "\n")
        #expect(try fixture.stats() == expected)

        // Read back by the official client, with Pulsar's dead-letter properties.
        let dlq = try InboxTestStack.readTopic(settings.deadLetterTopic, atLeast: 1, timeoutSeconds: 30)
        #expect(dlq.event_ids == ["1017": 1])
        #expect(dlq.props.first?["REAL_TOPIC"] == fixture.topic)
        #expect(dlq.props.first?["DEAD_LETTER_REASON"]?.contains("3 times") == true)
    }

    @Test func twoInstancesOnOneKeySharedSubscriptionApplyEachEventOnce() async throws {
        let fixture = try await CatalogFixture()
        defer { fixture.cleanUp() }
        let (postgresA, postgresB) = (fixture.makePostgres(), fixture.makePostgres())
        let (pulsarA, pulsarB) = (fixture.makePulsar(), fixture.makePulsar())
        let settings = Self.settings(fixture, subscription: "shared-catalog", type: .keyShared)
        let inboxA = InboxService(pulsar: pulsarA, postgres: postgresA, settings: settings, handler: CatalogHandler(), logger: fixture.logger)
        let inboxB = InboxService(pulsar: pulsarB, postgres: postgresB, settings: settings, handler: CatalogHandler(), logger: fixture.logger)
        let runningA = RunningGroup([postgresA, inboxA], logger: fixture.logger)
        let runningB = RunningGroup([postgresB, inboxB], logger: fixture.logger)
        #expect(await InboxTestStack.waitUntil(timeout: .seconds(30)) { inboxA.isSubscribed && inboxB.isSubscribed })

        // 600 products; every 4th event is published a second time (as a relay replay would).
        var messages: [PulsarOutgoingMessage] = []
        for n in 1...600 {
            let event = CatalogFixture.event(productID: Int64(n), eventID: 5000 + Int64(n), category: "k\(n % 6)", stock: Int64(n % 50))
            messages.append(event)
            if n % 4 == 0 { messages.append(event) }
        }
        try await fixture.publish(messages)

        let done = try await InboxTestStack.waitUntil(timeout: .seconds(90)) {
            inboxA.metrics.value("inbox_messages_processed_total") + inboxB.metrics.value("inbox_messages_processed_total") >= 600
                && inboxA.metrics.value("inbox_duplicates_skipped_total") + inboxB.metrics.value("inbox_duplicates_skipped_total") >= 150
        }
        #expect(done, "processed A \(inboxA.metrics.value("inbox_messages_processed_total")) B \(inboxB.metrics.value("inbox_messages_processed_total"))")
        try await runningA.stop()
        try await runningB.stop()
        await pulsarA.shutdown()
        await pulsarB.shutdown()

        #expect(try fixture.productCount() == 600)
        #expect(inboxA.metrics.value("inbox_messages_processed_total") + inboxB.metrics.value("inbox_messages_processed_total") == 600)
        // Both instances took part (the broker spread the keys).
        #expect(inboxA.metrics.value("inbox_messages_processed_total") > 0)
        #expect(inboxB.metrics.value("inbox_messages_processed_total") > 0)
        let expected = (0..<6).map { c in
            let ids = (1...600).filter { $0 % 6 == c }
            return "k\(c)|\(ids.count)|\(ids.map { $0 % 50 }.reduce(0, +))"
        }.joined(separator: "\n")
        #expect(try fixture.stats() == expected)
    }

    /// Records each key's sequence numbers in the order their transactions applied them.
    struct OrderHandler: InboxHandler {
        func handle(_ entries: [InboxEntry], on connection: PostgresConnection, logger: Logger) async throws {
            let keys = entries.map { $0.message.key ?? "" }
            let seqs = entries.map { Int64($0.message.properties["seq"] ?? "") ?? -1 }
            var binds = PostgresBindings(capacity: 2)
            binds.append(keys)
            binds.append(seqs)
            try await connection.query(PostgresQuery(unsafeSQL: """
                INSERT INTO order_log (key, seq)
                SELECT k, s FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS t(k, s, n) ORDER BY n
                """, binds: binds), logger: logger)
        }
    }

    @Test func twoInstancesKeepEachKeysOrder() async throws {
        let fixture = try await CatalogFixture()
        defer { fixture.cleanUp() }
        try fixture.value("CREATE TABLE order_log (id bigserial PRIMARY KEY, key text NOT NULL, seq bigint NOT NULL); ALTER TABLE order_log OWNER TO app")
        let (postgresA, postgresB) = (fixture.makePostgres(), fixture.makePostgres())
        let (pulsarA, pulsarB) = (fixture.makePulsar(), fixture.makePulsar())
        let settings = Self.settings(fixture, subscription: "ordered", type: .keyShared)
        let inboxA = InboxService(pulsar: pulsarA, postgres: postgresA, settings: settings, handler: OrderHandler(), logger: fixture.logger)
        let inboxB = InboxService(pulsar: pulsarB, postgres: postgresB, settings: settings, handler: OrderHandler(), logger: fixture.logger)
        let runningA = RunningGroup([postgresA, inboxA], logger: fixture.logger)
        let runningB = RunningGroup([postgresB, inboxB], logger: fixture.logger)
        #expect(await InboxTestStack.waitUntil(timeout: .seconds(30)) { inboxA.isSubscribed && inboxB.isSubscribed })

        // 24 keys × 40 events, interleaved; event ids unique, seq increasing per key.
        var messages: [PulsarOutgoingMessage] = []
        for seq in 0..<40 {
            for key in 0..<24 {
                let eventID = Int64(seq * 100 + key)
                messages.append(PulsarOutgoingMessage("e\(eventID)", key: "key-\(key)", properties: ["event_id": String(eventID), "seq": String(seq)]))
            }
        }
        try await fixture.publish(messages)
        let done = try await InboxTestStack.waitUntil(timeout: .seconds(90)) { try fixture.value("SELECT count(*) FROM order_log") == "960" }
        #expect(done)
        try await runningA.stop()
        try await runningB.stop()
        await pulsarA.shutdown()
        await pulsarB.shutdown()

        #expect(inboxA.metrics.value("inbox_messages_processed_total") > 0)
        #expect(inboxB.metrics.value("inbox_messages_processed_total") > 0)
        // Per key, in commit order, exactly 0, 1, …, 39.
        let violations = try fixture.value("""
            SELECT count(*) FROM (
                SELECT key, seq, row_number() OVER (PARTITION BY key ORDER BY id) - 1 AS position FROM order_log) t
            WHERE seq <> position
            """)
        #expect(violations == "0")
        #expect(try fixture.value("SELECT count(DISTINCT key) FROM order_log") == "24")
    }
}
