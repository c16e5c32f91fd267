import Testing

@testable import CDCRelay

@Suite struct OutboxRowMapperTests {
    static let columns = ["id", "aggregate_type", "aggregate_id", "event_type", "payload", "headers", "created_at"]

    static func text(_ s: String) -> ColumnValue { .text(Array(s.utf8)) }

    static func row(
        id: String = "42", headers: ColumnValue = text(#"{"traceparent":"00-abc-01"}"#),
        createdAt: String = "2026-11-29 20:08:23.123456+00"
    ) -> [ColumnValue] {
        [text(id), text("product"), text("p-1"), text("product.created"), text(#"{"a": 1}"#), headers, text(createdAt)]
    }

    @Test func mapsColumnsByName() throws {
        let layout = try OutboxColumnLayout(columnNames: Self.columns)
        let event = try OutboxRowMapper().event(from: Self.row(), layout: layout)
        #expect(event.id == 42)
        #expect(event.aggregateType == "product")
        #expect(event.aggregateID == "p-1")
        #expect(event.eventType == "product.created")
        #expect(event.payload == Array(#"{"a": 1}"#.utf8))
        #expect(event.headers == ["traceparent": "00-abc-01"])
        #expect(event.createdAt.iso8601 == "2026-11-29T20:08:23.123456Z")
    }

    @Test func columnOrderAndExtraColumnsDoNotMatter() throws {
        let names = ["extra", "created_at", "payload", "event_type", "id", "aggregate_id", "aggregate_type", "more"]
        let layout = try OutboxColumnLayout(columnNames: names)
        let values: [ColumnValue] = [
            .null, Self.text("2026-01-01 00:00:00+00"), Self.text("{}"), Self.text("e"), Self.text("7"),
            Self.text("agg"), Self.text("t"), Self.text("x"),
        ]
        let event = try OutboxRowMapper().event(from: values, layout: layout)
        #expect(event.id == 7)
        #expect(event.aggregateType == "t")
        #expect(event.aggregateID == "agg")
        #expect(event.eventType == "e")
        #expect(event.headers == [:])
        #expect(event.createdAt.microsecondsSinceEpoch == 1_767_225_600_000_000)
    }

    @Test(arguments: OutboxColumnLayout.requiredColumns)
    func missingRequiredColumnIsNamed(_ missing: String) {
        let names = Self.columns.filter { $0 != missing }
        #expect(throws: OutboxMappingError(code: .missingColumn, column: missing)) {
            try OutboxColumnLayout(columnNames: names)
        }
    }

    @Test func nullRequiredValueIsAnError() throws {
        let layout = try OutboxColumnLayout(columnNames: Self.columns)
        var values = Self.row()
        values[4] = .null
        #expect(throws: OutboxMappingError(code: .nullValue, column: "payload")) {
            try OutboxRowMapper().event(from: values, layout: layout)
        }
    }

    @Test func nullHeadersMeanNoHeaders() throws {
        let layout = try OutboxColumnLayout(columnNames: Self.columns)
        #expect(try OutboxRowMapper().event(from: Self.row(headers: .null), layout: layout).headers == [:])
        #expect(try OutboxRowMapper().event(from: Self.row(headers: Self.text("null")), layout: layout).headers == [:])
    }

    @Test func nonStringHeaderValuesAreJSONEncoded() throws {
        let layout = try OutboxColumnLayout(columnNames: Self.columns)
        let headers = Self.text(#"{"n": 42, "b": true, "o": {"z": 1, "a": "x"}, "s": "plain", "l": [1, "two"]}"#)
        let event = try OutboxRowMapper().event(from: Self.row(headers: headers), layout: layout)
        #expect(event.headers["n"] == "42")
        #expect(event.headers["b"] == "true")
        #expect(event.headers["o"] == #"{"a":"x","z":1}"#)
        #expect(event.headers["s"] == "plain")
        #expect(event.headers["l"] == #"[1,"two"]"#)
    }

    @Test(arguments: [#"[1,2]"#, #""text""#, "{not json"])
    func headersMustBeAnObject(_ raw: String) throws {
        let layout = try OutboxColumnLayout(columnNames: Self.columns)
        #expect(throws: OutboxMappingError.self) {
            try OutboxRowMapper().event(from: Self.row(headers: Self.text(raw)), layout: layout)
        }
        do {
            _ = try OutboxRowMapper().event(from: Self.row(headers: Self.text(raw)), layout: layout)
        } catch {
            #expect(error.code == .invalidHeaders)
        }
    }

    @Test(arguments: ["", "abc", "12x", "99999999999999999999"])
    func invalidIDIsAnError(_ id: String) throws {
        let layout = try OutboxColumnLayout(columnNames: Self.columns)
        do {
            _ = try OutboxRowMapper().event(from: Self.row(id: id), layout: layout)
            Issue.record("expected an error for id \(id)")
        } catch {
            #expect(error.code == .invalidInteger)
            #expect(error.column == "id")
        }
    }

    @Test func binaryAndToastValuesAreRejected() throws {
        let layout = try OutboxColumnLayout(columnNames: Self.columns)
        for value in [ColumnValue.binary([1, 2]), .unchangedToast] {
            var values = Self.row()
            values[2] = value
            #expect(throws: OutboxMappingError(code: .unsupportedValue, column: "aggregate_id")) {
                try OutboxRowMapper().event(from: values, layout: layout)
            }
        }
    }

    @Test func columnCountMismatchIsAnError() throws {
        let layout = try OutboxColumnLayout(columnNames: Self.columns)
        do {
            _ = try OutboxRowMapper().event(from: Array(Self.row().dropLast()), layout: layout)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .columnCountMismatch)
        }
    }

    @Test func invalidUTF8IsAnError() throws {
        let layout = try OutboxColumnLayout(columnNames: Self.columns)
        var values = Self.row()
        values[1] = .text([0xFF, 0xFE])
        #expect(throws: OutboxMappingError(code: .invalidText, column: "aggregate_type")) {
            try OutboxRowMapper().event(from: values, layout: layout)
        }
    }
}
