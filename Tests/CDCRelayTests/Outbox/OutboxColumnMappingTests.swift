import OutboxCore
import Testing

@testable import CDCRelay

/// The configured mapping (`relay.columns.*`) over other outbox shapes, through both entry points:
/// decoded tuples (the stream) and column name → text rows (table reads).
@Suite struct OutboxColumnMappingTests {
    static func text(_ s: String) -> ColumnValue { .text(Array(s.utf8)) }

    /// The seed's polling outbox: serial id, text payload, timestamp without time zone, no
    /// aggregate columns.
    static var pollingMapping: OutboxColumnMapping {
        var mapping = OutboxColumnMapping()
        mapping.aggregateType = .constant("product")
        mapping.aggregateID = .absent
        mapping.headers = .absent
        return mapping
    }

    static let pollingColumns = ["id", "event_type", "payload", "status", "created_at", "processed_at"]

    @Test func aPollingOutboxRowMapsWithConstantsAndFallbacks() throws {
        let layout = try OutboxColumnLayout(columnNames: Self.pollingColumns, mapping: Self.pollingMapping)
        let values = [Self.text("17"), Self.text("product.created"), Self.text(#"{"name":"p"}"#), Self.text("pending"),
                      Self.text("2026-11-29 20:08:23.5"), .null]
        let event = try OutboxRowMapper().event(from: values, layout: layout)
        #expect(event.id == 17)
        #expect(event.aggregateType == "product")
        #expect(event.aggregateID == "17", "no aggregate column: the event id keys the message")
        #expect(event.eventType == "product.created")
        #expect(event.payload == Array(#"{"name":"p"}"#.utf8))
        #expect(event.headers == [:])
        #expect(event.createdAt.iso8601 == "2026-11-29T20:08:23.500000Z", "timestamp without time zone is UTC")
    }

    @Test func renamedColumnsAndAKeyFromAnotherColumn() throws {
        var mapping = OutboxColumnMapping()
        mapping.id = .column("event_id")
        mapping.aggregateType = .column("kind")
        mapping.aggregateID = .column("order_id")
        mapping.eventType = .column("type")
        mapping.payload = .column("body")
        mapping.createdAt = .absent
        mapping.headers = .column("meta")
        let names = ["order_id", "body", "type", "kind", "event_id", "meta"]
        let layout = try OutboxColumnLayout(columnNames: names, mapping: mapping)
        let values = [Self.text("o-9"), Self.text("{}"), Self.text("order.paid"), Self.text("order"), Self.text("5"),
                      Self.text(#"{"traceparent":"t"}"#)]
        let commit = OutboxTimestamp(microsecondsSinceEpoch: 1_000_000)
        let event = try OutboxRowMapper().event(from: values, layout: layout, commitTime: commit)
        #expect(event.id == 5)
        #expect(event.aggregateType == "order")
        #expect(event.aggregateID == "o-9")
        #expect(event.eventType == "order.paid")
        #expect(event.headers == ["traceparent": "t"])
        #expect(event.createdAt == commit, "created_at absent: the commit time")
    }

    @Test func aMissingMappedColumnIsNamed() {
        var mapping = OutboxColumnMapping()
        mapping.payload = .column("body")
        #expect(throws: OutboxMappingError(code: .missingColumn, column: "body")) {
            try OutboxColumnLayout(columnNames: OutboxColumnLayout.requiredColumns, mapping: mapping)
        }
    }

    @Test func errorsNameTheConfiguredColumn() throws {
        var mapping = OutboxColumnMapping()
        mapping.id = .column("seq")
        let names = ["seq", "aggregate_type", "aggregate_id", "event_type", "payload", "created_at"]
        let layout = try OutboxColumnLayout(columnNames: names, mapping: mapping)
        let values = [Self.text("x1"), Self.text("t"), Self.text("a"), Self.text("e"), Self.text("{}"), Self.text("2026-01-01 00:00:00+00")]
        #expect(throws: OutboxMappingError(code: .invalidInteger, column: "seq", detail: "x1")) {
            try OutboxRowMapper().event(from: values, layout: layout)
        }
    }

    @Test func createdAtAbsentWithoutACommitTimeIsAnError() throws {
        var mapping = Self.pollingMapping
        mapping.createdAt = .absent
        let layout = try OutboxColumnLayout(columnNames: Self.pollingColumns, mapping: mapping)
        let values = [Self.text("1"), Self.text("e"), Self.text("{}"), Self.text("pending"), .null, .null]
        #expect(throws: OutboxMappingError.self) { try OutboxRowMapper().event(from: values, layout: layout) }
    }

    @Test func textRowsMapTheSameAsTuples() throws {
        let row: [String: String?] = [
            "id": "17", "event_type": "product.created", "payload": #"{"name":"p"}"#, "status": "pending",
            "created_at": "2026-11-29 20:08:23.5", "processed_at": nil,
        ]
        let fromText = try OutboxRowMapper().event(fromTextColumns: row, mapping: Self.pollingMapping)
        let layout = try OutboxColumnLayout(columnNames: Self.pollingColumns, mapping: Self.pollingMapping)
        let fromTuple = try OutboxRowMapper().event(from: Self.pollingColumns.map { name in
            (row[name] ?? nil).map(Self.text) ?? .null
        }, layout: layout)
        #expect(fromText == fromTuple)

        var missingPayload = row
        missingPayload["payload"] = .some(nil)
        #expect(throws: OutboxMappingError(code: .nullValue, column: "payload")) {
            try OutboxRowMapper().event(fromTextColumns: missingPayload, mapping: Self.pollingMapping)
        }
    }

    @Test func relayTableNamesASchema() {
        #expect(OutboxTable(configured: "outbox") == OutboxTable(namespace: "public", name: "outbox"))
        #expect(OutboxTable(configured: "legacy.events") == OutboxTable(namespace: "legacy", name: "events"))
        #expect(OutboxTable(configured: "legacy.events").quotedName == #""legacy"."events""#)
    }
}
