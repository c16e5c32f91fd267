import Foundation
import OutboxCore
import PulsarClient
import Testing

@testable import CDCRelay

/// Rows that cannot become events: dead-lettered in their place, or the pipeline halts on them.
@Suite struct InvalidEventTests {
    typealias P = RelayPipelineTests

    static func row(id: Int64, headers: String = "{}", payload: String = "{}") -> [ColumnValue] {
        [id.description, "product", "p-\(id)", "product.created", payload, headers, "2026-11-29 20:08:23+00"].map { .text(Array($0.utf8)) }
    }

    static func document(_ publication: RelayPipeline.Publication) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(publication.message.payload)) as? [String: Any])
    }

    @Test func nonObjectHeadersAreDeadLetteredInPlaceWithEveryColumn() throws {
        var pipeline = try P.makePipeline(policy: .deadLetter)
        _ = try pipeline.receive(.begin(finalLSN: 0x1000, commitTime: 1_700_000_000_000_000, xid: 7))
        let good = try #require(P.publication(try pipeline.receive(.insert(relationID: 16384, values: Self.row(id: 1)))))
        let bad = try #require(P.publication(try pipeline.receive(.insert(relationID: 16384, values: Self.row(id: 2, headers: "[1,2]")))))
        let after = try #require(P.publication(try pipeline.receive(.insert(relationID: 16384, values: Self.row(id: 3)))))
        #expect(good.deadLetter == nil && after.deadLetter == nil)
        // Same place in the sequence as the row would have had: a replay deduplicates.
        #expect(bad.message.sequenceID == good.message.sequenceID + 1)
        #expect(after.message.sequenceID == bad.message.sequenceID + 1)
        #expect(bad.message.topic == "persistent://public/default/dlq")
        #expect(bad.deadLetter?.code == "invalidHeaders")
        #expect(bad.message.properties["dead_letter_reason"] == "invalidHeaders")
        #expect(bad.message.properties["event_id"] == "2")
        #expect(bad.message.properties["aggregate_id"] == "p-2")
        #expect(bad.message.properties["commit_lsn"] == "0/1000")
        #expect(bad.message.properties["slot"] == "s1")
        #expect(bad.message.properties["table"] == "public.outbox")
        #expect(bad.message.key == "p-2")
        let document = try Self.document(bad)
        #expect(document["headers"] as? String == "[1,2]")
        #expect(document["id"] as? String == "2")
        #expect(document["payload"] as? String == "{}")
        #expect(document.count == P.columns.count)
        // Confirmed only once the dead letter is acked, like any event.
        _ = try pipeline.receive(.commit(commitLSN: 0x1000, endLSN: 0x1100))
        try pipeline.acked(good)
        try pipeline.acked(after)
        #expect(pipeline.tracker.confirmedLSN == 10)
        try pipeline.acked(bad)
        #expect(pipeline.tracker.confirmedLSN == 0x1100)
    }

    @Test func haltThrowsAtTheRowNamingItsIDAndTransaction() throws {
        var pipeline = try P.makePipeline(policy: .halt)
        _ = try pipeline.receive(.begin(finalLSN: 0x2000, commitTime: 0, xid: 8))
        let good = try #require(P.publication(try pipeline.receive(.insert(relationID: 16384, values: Self.row(id: 1)))))
        do {
            _ = try pipeline.receive(.insert(relationID: 16384, values: Self.row(id: 2, headers: "[1,2]")))
            Issue.record("expected the pipeline to halt")
        } catch {
            #expect(error.code == .mapping)
            #expect(error.mapping?.code == .invalidHeaders)
            #expect(error.eventID == 2)
            #expect(error.lsn == 0x2000)
            #expect(FailureClassifier.classify(error) == .eventPermanent)
            #expect(HaltReport(error).detail.contains("halted on invalid event 2 at LSN 0/2000"))
        }
        try pipeline.acked(good)
        #expect(pipeline.tracker.confirmedLSN == 10)
    }

    /// A required column renamed: every row under that Relation is invalid; after the rename back
    /// (a new Relation message) rows map again.
    @Test func renamedRequiredColumnInvalidatesRowsUntilTheRelationIsFixed() throws {
        var pipeline = try P.makePipeline(policy: .deadLetter)
        var renamed = P.columns
        renamed[renamed.firstIndex(of: "aggregate_type")!] = "kind"
        _ = try pipeline.receive(.relation(id: 16384, namespace: "public", name: "outbox", columnNames: renamed))
        _ = try pipeline.receive(.begin(finalLSN: 0x3000, commitTime: 0, xid: 9))
        let bad = try #require(P.publication(try pipeline.receive(.insert(relationID: 16384, values: Self.row(id: 5)))))
        #expect(bad.deadLetter?.code == "missingColumn")
        #expect(bad.deadLetter?.column == "aggregate_type")
        #expect(try Self.document(bad)["kind"] as? String == "product")
        _ = try pipeline.receive(.commit(commitLSN: 0x3000, endLSN: 0x3100))
        _ = try pipeline.receive(.relation(id: 16384, namespace: "public", name: "outbox", columnNames: P.columns))
        _ = try pipeline.receive(.begin(finalLSN: 0x4000, commitTime: 0, xid: 10))
        let fixed = try #require(P.publication(try pipeline.receive(.insert(relationID: 16384, values: Self.row(id: 6)))))
        #expect(fixed.deadLetter == nil)
        #expect(fixed.message.topic == "persistent://public/default/products")
    }

    @Test func oversizedPayloadIsDeadLetteredWithoutItsPayload() throws {
        var pipeline = try P.makePipeline(policy: .deadLetter, maxEventBytes: 1024)
        _ = try pipeline.receive(.begin(finalLSN: 0x5000, commitTime: 0, xid: 11))
        let fits = try #require(P.publication(try pipeline.receive(.insert(relationID: 16384, values: Self.row(id: 1, payload: String(repeating: "a", count: 1024))))))
        #expect(fits.deadLetter == nil)
        let big = try #require(P.publication(try pipeline.receive(.insert(relationID: 16384, values: Self.row(id: 2, payload: String(repeating: "a", count: 1025))))))
        #expect(big.deadLetter?.code == "payloadTooLarge")
        #expect(big.message.properties["payload_bytes"] == "1025")
        let document = try Self.document(big)
        #expect(document["payload"] == nil)
        #expect(document["id"] as? String == "2")
    }

    @Test func brokerRejectionBecomesADeadLetterFromTheMessage() throws {
        var pipeline = try P.makePipeline(policy: .deadLetter)
        _ = try pipeline.receive(.begin(finalLSN: 0x6000, commitTime: 0, xid: 12))
        let event = try #require(P.publication(try pipeline.receive(.insert(relationID: 16384, values: Self.row(id: 4, headers: #"{"trace":"t-1"}"#)))))
        let letter = DeadLetterMessage.make(
            rejected: event.message, reason: DeadLetterReason(code: "brokerRejected", detail: "TopicNotFound"),
            commitLSN: 0x6000, commitTime: 0,
            origin: DeadLetterOrigin(topic: "persistent://public/default/dlq", slotName: "s1", table: OutboxTable()))
        #expect(letter.sequenceID == event.message.sequenceID)
        #expect(letter.properties["original_topic"] == "persistent://public/default/products")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(letter.payload)) as? [String: Any])
        #expect(document["headers"] as? String == #"{"trace":"t-1"}"#)
        #expect(document["event_type"] as? String == "product.created")
    }
}

@Suite struct FailureClassifierTests {
    struct Unknown: Error {}

    @Test func everyErrorTheSessionSeesHasOneClass() {
        let cases: [(any Error, FailureClass)] = [
            (ReplicationError(code: .connectionLost, message: ""), .transient),
            (ReplicationError(code: .connectionFailed, message: ""), .transient),
            (ReplicationError(code: .timeout, message: ""), .transient),
            (ReplicationError(code: .copyEnded, message: ""), .transient),
            (ReplicationError(code: .protocolViolation, message: ""), .transient),
            (ReplicationError(code: .slotBusy, message: ""), .slotBusy),
            (ReplicationError(code: .slotLost, message: ""), .streamFatal),
            (ReplicationError(code: .slotVanished, message: ""), .streamFatal),
            (ReplicationError(code: .slotReplaced, message: ""), .streamFatal),
            (ReplicationError(code: .slotMismatch, message: ""), .streamFatal),
            (OutboxMappingError(code: .invalidHeaders), .eventPermanent),
            (RelayPipelineError(mapping: OutboxMappingError(code: .missingColumn)), .eventPermanent),
            (RelayPipelineError(code: .unknownRelation), .transient),
            (RelayPipelineError(code: .changeOutsideTransaction), .transient),
            (RelayPipelineError(code: .sequenceOutOfRange), .streamFatal),
            (RelayError(code: .invalidEvent), .eventPermanent),
            (RelayError(code: .fatalReplication), .streamFatal),
            (RelayError(code: .streamEnded), .transient),
            (RelayError(code: .publishFailed, underlying: PulsarClientError(code: .messageTooLarge, message: "")), .transient),
            (RelayError(code: .streamEnded, underlying: ReplicationError(code: .slotLost, message: "")), .streamFatal),
            (PulsarClientError(code: .connectionClosed, message: ""), .transient),
            (PulsarClientError(code: .timeout, message: ""), .transient),
            (PulsarClientError(code: .producerFenced, message: ""), .transient),
            (PulsarClientError(code: .authenticationFailed, message: ""), .transient),
            (PulsarClientError(code: .topicNotFound, message: ""), .eventPermanent),
            (PulsarClientError(code: .messageTooLarge, message: ""), .eventPermanent),
            (PulsarClientError(code: .topicTerminated, message: ""), .eventPermanent),
            (Unknown(), .transient),
            (CancellationError(), .transient),
        ]
        for (error, expected) in cases {
            #expect(FailureClassifier.classify(error) == expected, "\(error)")
        }
    }
}

@Suite struct BackoffAndMemoryTests {
    @Test func backoffDoublesToTheCapWithJitterInsideEachStep() {
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(60), jitter: 0.5)
        var generator = SystemRandomNumberGenerator()
        var step = Duration.milliseconds(100)
        for _ in 0..<16 {
            let delay = backoff.nextDelay(using: &generator)
            #expect(delay <= step && delay >= step / 2, "\(delay) outside [\(step / 2), \(step)]")
            step = min(step * 2, .seconds(60))
        }
        #expect(step == .seconds(60))
        backoff.reset()
        #expect(backoff.nextDelay(using: &generator) <= .milliseconds(100))
        var fixed = Backoff(initial: .milliseconds(10), maximum: .milliseconds(40), jitter: 0)
        #expect([fixed.nextDelay(), fixed.nextDelay(), fixed.nextDelay(), fixed.nextDelay()] == [.milliseconds(10), .milliseconds(20), .milliseconds(40), .milliseconds(40)])
    }

    @Test func memoryForgetsWhatTheSlotConfirmedAndStaysBounded() {
        var memory = EventMemory(capacity: 3)
        memory.acknowledged(EventPosition(commitLSN: 100, ordinal: 0))
        memory.acknowledged(EventPosition(commitLSN: 200, ordinal: 0))
        memory.reject(EventPosition(commitLSN: 200, ordinal: 1), reason: DeadLetterReason(code: "x", detail: ""))
        memory.acknowledged(EventPosition(commitLSN: 300, ordinal: 0))
        memory.acknowledged(EventPosition(commitLSN: 300, ordinal: 1))  // over capacity: not remembered
        #expect(memory.ackedCount == 3)
        #expect(!memory.wasAcked(EventPosition(commitLSN: 300, ordinal: 1)))
        memory.forget(before: 250)
        #expect(!memory.wasAcked(EventPosition(commitLSN: 100, ordinal: 0)))
        #expect(!memory.wasAcked(EventPosition(commitLSN: 200, ordinal: 0)))
        #expect(memory.rejection(of: EventPosition(commitLSN: 200, ordinal: 1)) == nil)
        #expect(memory.wasAcked(EventPosition(commitLSN: 300, ordinal: 0)))
    }

    @Test func haltKeepsHealthFailedUntilConfirmedPassesIt() {
        let health = HealthState()
        health.set(.streaming)
        health.halt(at: 0x5000, detail: "halted on invalid event 7")
        #expect(health.status == .failed)
        #expect(health.set(.streaming) == false)
        #expect(health.set(.reconnecting) == false)
        #expect(health.status == .failed)
        #expect(health.confirmed(0x5000) == false)
        #expect(health.confirmed(0x5001))
        #expect(health.status == .streaming)
        #expect(health.detail == nil)
    }
}
