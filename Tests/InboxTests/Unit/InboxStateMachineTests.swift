import Logging
import NIOCore
import OutboxCore
import PostgresNIO
import PulsarClient
import Testing

@testable import Inbox

@Suite struct InboxStateMachineTests {
    static func entry(_ n: Int64, eventID: Int64? = nil, key: String = "k") -> InboxEntry {
        let message = PulsarMessage(
            id: PulsarMessageID(ledgerID: 1, entryID: UInt64(n)), topic: "t", payload: ByteBuffer(string: "m\(n)"),
            key: key, properties: [:], publishTime: 0, producerName: "p", sequenceID: n)
        return InboxEntry(message: message, eventID: eventID ?? n)
    }

    static func machine(maxBatch: Int = 10, maxRedeliveries: Int = 2) -> InboxStateMachine {
        InboxStateMachine(settings: .init(
            maxBatch: maxBatch, maxRedeliveries: maxRedeliveries,
            backoff: Backoff(initial: .milliseconds(10), maximum: .milliseconds(40), jitter: 0)))
    }

    @Test func aMessageRunsInATransactionAndIsAckedOnlyAfterCommit() {
        var machine = Self.machine()
        let a = Self.entry(1)
        #expect(machine.received(a) == [.runTransaction(InboxBatch([a]))])
        // Nothing is acknowledged before the commit is reported.
        #expect(machine.transactionCommitted() == [.acknowledge([a.id])])
        #expect(machine.isIdle)
    }

    @Test func messagesArrivingDuringATransactionShareTheNextOne() {
        var machine = Self.machine(maxBatch: 2)
        let (a, b, c, d) = (Self.entry(1), Self.entry(2), Self.entry(3), Self.entry(4))
        #expect(machine.received(a) == [.runTransaction(InboxBatch([a]))])
        #expect(machine.received(b) == [])
        #expect(machine.received(c) == [])
        #expect(machine.received(d) == [])
        #expect(machine.pendingCount == 4)
        // Group commit up to maxBatch, in arrival order; the ack of the first precedes the next run.
        #expect(machine.transactionCommitted() == [.acknowledge([a.id]), .runTransaction(InboxBatch([b, c]))])
        #expect(machine.transactionCommitted() == [.acknowledge([b.id, c.id]), .runTransaction(InboxBatch([d]))])
        #expect(machine.transactionCommitted() == [.acknowledge([d.id])])
    }

    @Test func aHandlerFailureWaitsWithBackoffAndRedeliversThenDeadLetters() {
        var machine = Self.machine(maxRedeliveries: 2)
        let a = Self.entry(1)
        _ = machine.received(a)
        #expect(machine.transactionFailed(.handler("boom")) == [.wait(.milliseconds(10))])
        #expect(machine.retryDue() == [.runTransaction(InboxBatch([a]))])
        #expect(machine.transactionFailed(.handler("boom")) == [.wait(.milliseconds(20))])
        #expect(machine.retryDue() == [.runTransaction(InboxBatch([a]))])
        // First attempt + 2 redeliveries failed: dead-letter, no ack yet.
        let reason = InboxDeadLetterReason.handlerFailed(attempts: 3, lastError: "boom")
        #expect(machine.transactionFailed(.handler("boom")) == [.deadLetter(a, reason)])
        // Acked only once the dead-letter topic has it.
        #expect(machine.deadLetterPublished() == [.acknowledge([a.id])])
        #expect(machine.isIdle)
    }

    @Test func aFailedDeadLetterPublishIsRetriedNotAcked() {
        var machine = Self.machine(maxRedeliveries: 0)
        let a = Self.entry(1)
        _ = machine.received(a)
        let reason = InboxDeadLetterReason.handlerFailed(attempts: 1, lastError: "x")
        #expect(machine.transactionFailed(.handler("x")) == [.deadLetter(a, reason)])
        #expect(machine.deadLetterFailed() == [.wait(.milliseconds(10))])
        #expect(machine.retryDue() == [.deadLetter(a, reason)])
        #expect(machine.deadLetterPublished() == [.acknowledge([a.id])])
    }

    @Test func aFailedGroupIsReplayedOneByOneSoOnlyTheCulpritIsCharged() {
        var machine = Self.machine(maxBatch: 10, maxRedeliveries: 0)
        let (a, b, c, d) = (Self.entry(1), Self.entry(2), Self.entry(3), Self.entry(4))
        _ = machine.received(a)
        _ = machine.received(b)
        _ = machine.received(c)
        #expect(machine.transactionCommitted() == [.acknowledge([a.id]), .runTransaction(InboxBatch([b, c]))])
        _ = machine.received(d)
        // The group [b, c] failed (c is bad): b runs alone first, nobody is charged.
        #expect(machine.transactionFailed(.handler("c is bad")) == [.runTransaction(InboxBatch([b]))])
        #expect(machine.failureCount(of: b.id) == 0)
        #expect(machine.transactionCommitted() == [.acknowledge([b.id]), .runTransaction(InboxBatch([c]))])
        #expect(machine.transactionFailed(.handler("c is bad")) == [.deadLetter(c, .handlerFailed(attempts: 1, lastError: "c is bad"))])
        // After the isolated ones, grouping resumes.
        #expect(machine.deadLetterPublished() == [.acknowledge([c.id]), .runTransaction(InboxBatch([d]))])
    }

    @Test func databaseTroubleRetriesTheSameBatchWithoutCounting() {
        var machine = Self.machine(maxRedeliveries: 0)
        let (a, b) = (Self.entry(1), Self.entry(2))
        _ = machine.received(a)
        _ = machine.received(b)
        _ = machine.transactionCommitted()
        #expect(machine.transactionFailed(.infrastructure("connection reset")) == [.wait(.milliseconds(10))])
        #expect(machine.failureCount(of: b.id) == 0)
        #expect(machine.retryDue() == [.runTransaction(InboxBatch([b]))])
        #expect(machine.transactionFailed(.infrastructure("connection reset")) == [.wait(.milliseconds(20))])
        #expect(machine.retryDue() == [.runTransaction(InboxBatch([b]))])
        #expect(machine.transactionCommitted() == [.acknowledge([b.id])])
    }

    @Test func aMessageWithoutEventIDIsDeadLetteredInOrder() {
        var machine = Self.machine()
        let a = Self.entry(1)
        let bad = InboxEntry(message: Self.entry(2).message, eventID: nil)
        let c = Self.entry(3)
        _ = machine.received(a)
        _ = machine.received(bad)
        _ = machine.received(c)
        // The group stops before the keyless one; it goes alone to the DLQ; then c.
        #expect(machine.transactionCommitted() == [.acknowledge([a.id]), .deadLetter(bad, .missingEventID)])
        #expect(machine.deadLetterPublished() == [.acknowledge([bad.id]), .runTransaction(InboxBatch([c]))])
    }

    @Test func aRedeliveredCopyQueuesBehindAndIsHandledByTheInboxTable() {
        // The broker redelivers a message that is in a transaction right now: the copy waits
        // its turn (same lane) and is acknowledged after the inbox found it a duplicate.
        var machine = Self.machine()
        let a = Self.entry(1)
        _ = machine.received(a)
        #expect(machine.received(a) == [])
        #expect(machine.transactionCommitted() == [.acknowledge([a.id]), .runTransaction(InboxBatch([a]))])
        #expect(machine.transactionCommitted() == [.acknowledge([a.id])])
    }

    @Test func eventsIgnoredOutsideTheirPhase() {
        var machine = Self.machine()
        #expect(machine.transactionCommitted() == [])
        #expect(machine.transactionFailed(.handler("x")) == [])
        #expect(machine.retryDue() == [])
        #expect(machine.deadLetterPublished() == [])
        #expect(machine.isIdle)
    }

    @Test func oneKeyAlwaysMapsToOneLane() {
        let m1 = Self.entry(1, key: "product-42").message
        let m2 = Self.entry(2, key: "product-42").message
        #expect(InboxService<NoopHandler>.lane(for: m1, count: 8) == InboxService<NoopHandler>.lane(for: m2, count: 8))
        let lanes = Set((0..<200).map { InboxService<NoopHandler>.lane(for: Self.entry(Int64($0), key: "p\($0)").message, count: 8) })
        #expect(lanes.count == 8)
    }

    @Test func deadLetterTopicFollowsPulsarsConvention() {
        let settings = InboxSettings(topic: "persistent://public/default/products", subscription: "catalog-projector")
        #expect(settings.deadLetterTopic == "persistent://public/default/products-catalog-projector-DLQ")
    }
}

struct NoopHandler: InboxHandler {
    func handle(_ entries: [InboxEntry], on connection: PostgresConnection, logger: Logger) async throws {}
}
