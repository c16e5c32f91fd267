import OutboxCore
import Testing

@testable import CDCRelay

@Suite struct RelayPipelineTests {
    static let columns = ["id", "aggregate_type", "aggregate_id", "event_type", "payload", "headers", "created_at"]

    static func row(id: Int64, aggregate: String = "p-1", type: String = "product") -> [ColumnValue] {
        [id.description, type, aggregate, "product.created", "{}", "{}", "2026-11-29 20:08:23+00"].map { .text(Array($0.utf8)) }
    }

    static func makePipeline(
        topic: String = "persistent://public/default/products", policy: InvalidEventPolicy = .halt, maxEventBytes: Int = 1 << 20
    ) throws -> RelayPipeline {
        var pipeline = RelayPipeline(
            table: OutboxTable(), router: try TopicRouter(topicName: topic), confirmedLSN: 10,
            invalidEvents: .init(policy: policy, deadLetterTopic: "persistent://public/default/dlq", maxEventBytes: maxEventBytes, slotName: "s1"))
        _ = try pipeline.receive(.relation(id: 16384, namespace: "public", name: "outbox", columnNames: columns))
        _ = try pipeline.receive(.relation(id: 16390, namespace: "public", name: "products", columnNames: ["id", "name"]))
        return pipeline
    }

    static func publication(_ action: RelayPipeline.Action) -> RelayPipeline.Publication? {
        if case .publish(let publication) = action { return publication }
        return nil
    }

    @Test func publishesWhileStreamingAndConfirmsAfterCommit() throws {
        var pipeline = try Self.makePipeline()
        #expect(try pipeline.receive(.begin(finalLSN: 0x1000, commitTime: 5, xid: 700)) == .none)
        let first = try #require(Self.publication(try pipeline.receive(.insert(relationID: 16384, values: Self.row(id: 1)))))
        let second = try #require(Self.publication(try pipeline.receive(.insert(relationID: 16384, values: Self.row(id: 2)))))
        #expect(first.message.sequenceID == 0x1000 << 11)
        #expect(second.message.sequenceID == (0x1000 << 11) + 1)
        #expect(first.message.properties["event_id"] == "1")
        #expect(first.commitTime == 5)
        try pipeline.acked(first)
        try pipeline.acked(second)
        #expect(pipeline.tracker.confirmedLSN == 10)  // Commit not seen yet
        #expect(try pipeline.receive(.commit(commitLSN: 0x1000, endLSN: 0x1030)) == .none)
        #expect(pipeline.tracker.confirmedLSN == 0x1030)
        #expect(pipeline.standbyPositions == StandbyPositions(written: 0x1030, flushed: 0x1030, applied: 0x1030))
    }

    @Test func insertsIntoOtherRelationsAreIgnoredNotMapped() throws {
        var pipeline = try Self.makePipeline()
        _ = try pipeline.receive(.begin(finalLSN: 0x2000, commitTime: 0, xid: 1))
        #expect(try pipeline.receive(.insert(relationID: 16390, values: [.text([0x31]), .text([0x78])])) == .ignoredInsert(relation: "public.products"))
        let event = try #require(Self.publication(try pipeline.receive(.insert(relationID: 16384, values: Self.row(id: 9)))))
        #expect(event.message.sequenceID == 0x2000 << 11)  // ordinal counts outbox rows only
        _ = try pipeline.receive(.commit(commitLSN: 0x2000, endLSN: 0x2040))
        try pipeline.acked(event)
        #expect(pipeline.tracker.confirmedLSN == 0x2040)
    }

    @Test func outboxInAnotherSchemaIsNotOurs() throws {
        var pipeline = try Self.makePipeline()
        _ = try pipeline.receive(.relation(id: 17000, namespace: "archive", name: "outbox", columnNames: Self.columns))
        _ = try pipeline.receive(.begin(finalLSN: 0x2000, commitTime: 0, xid: 1))
        #expect(try pipeline.receive(.insert(relationID: 17000, values: Self.row(id: 1))) == .ignoredInsert(relation: "archive.outbox"))
    }

    @Test func unknownRelationIsATypedError() throws {
        var pipeline = try Self.makePipeline()
        _ = try pipeline.receive(.begin(finalLSN: 0x2000, commitTime: 0, xid: 1))
        do {
            _ = try pipeline.receive(.insert(relationID: 1, values: []))
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .unknownRelation)
            #expect(FailureClassifier.classify(error) == .transient)
        }
    }

    @Test func routesByAggregateTypeAndRejectsInvalidTopics() throws {
        var pipeline = try Self.makePipeline(topic: "persistent://public/default/{aggregate_type}")
        _ = try pipeline.receive(.begin(finalLSN: 0x3000, commitTime: 0, xid: 1))
        let event = try #require(Self.publication(try pipeline.receive(.insert(relationID: 16384, values: Self.row(id: 1, type: "order")))))
        #expect(event.message.topic == "persistent://public/default/order")
        do {
            _ = try pipeline.receive(.insert(relationID: 16384, values: Self.row(id: 2, type: "bad/type")))
            Issue.record("expected an error")
        } catch {
            #expect(error.mapping?.code == .invalidTopic)
            #expect(error.eventID == 2)
            #expect(error.lsn == 0x3000)
        }
    }

    @Test func keepaliveRepliesWhenAskedAndConfirmsWhenIdle() throws {
        var pipeline = try Self.makePipeline()
        #expect(try pipeline.receive(.keepalive(walEnd: 0x9000, replyRequested: false)) == .none)
        #expect(pipeline.tracker.confirmedLSN == 0x9000)
        #expect(try pipeline.receive(.keepalive(walEnd: 0x9100, replyRequested: true))
            == .sendStatus(StandbyPositions(written: 0x9100, flushed: 0x9100, applied: 0x9100)))
    }

    @Test func sequenceIDsStayIncreasingBeyondTheGuaranteedOrdinals() throws {
        var pipeline = try Self.makePipeline()
        // Commits closer than real WAL allows, the first with more rows than the scheme guarantees,
        // to force the fallback.
        _ = try pipeline.receive(.begin(finalLSN: 0x10000, commitTime: 0, xid: 1))
        var last: Int64 = -1
        for id in 0..<Int64(SequenceIDScheme.guaranteedOrdinals + 10) {
            let event = try #require(Self.publication(try pipeline.receive(.insert(relationID: 16384, values: Self.row(id: id)))))
            #expect(event.message.sequenceID > last)
            last = event.message.sequenceID
        }
        _ = try pipeline.receive(.commit(commitLSN: 0x10000, endLSN: 0x10010))
        _ = try pipeline.receive(.begin(finalLSN: 0x10010, commitTime: 0, xid: 2))
        let next = try #require(Self.publication(try pipeline.receive(.insert(relationID: 16384, values: Self.row(id: 1)))))
        #expect(next.message.sequenceID > last)
        #expect(pipeline.sequenceFallbacks > 0)
    }

    @Test func changeOutsideTransactionIsAnError() throws {
        var pipeline = try Self.makePipeline()
        #expect(throws: RelayPipelineError(code: .changeOutsideTransaction)) {
            try pipeline.receive(.insert(relationID: 16384, values: Self.row(id: 1)))
        }
    }
}
