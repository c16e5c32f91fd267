import OutboxCore

/// Turns the text columns of an outbox Insert into an `OutboxEvent`. Pure.
public struct OutboxRowMapper: Sendable {
    public init() {}

    /// Maps one decoded tuple. `commitTime` is the event's time when `created_at` is mapped as
    /// absent (the stream passes the transaction's commit time; a table read passes its own).
    public func event(
        from values: [ColumnValue], layout: OutboxColumnLayout, commitTime: OutboxTimestamp? = nil
    ) throws(OutboxMappingError) -> OutboxEvent {
        guard values.count == layout.columnCount else {
            throw OutboxMappingError(
                code: .columnCountMismatch,
                detail: "tuple has \(values.count) columns, relation has \(layout.columnCount)"
            )
        }
        let mapping = layout.mapping
        let idText = try required(layout.id, values, field: "id", mapping.id)
        guard let id = Int64(idText) else {
            throw OutboxMappingError(code: .invalidInteger, column: mapping.id.columnName ?? "id", detail: idText)
        }
        let createdAt: OutboxTimestamp
        if case .absent = layout.createdAt {
            guard let commitTime else {
                throw OutboxMappingError(code: .nullValue, column: "created_at", detail: "created_at is mapped as absent and no commit time is known")
            }
            createdAt = commitTime
        } else {
            let text = try required(layout.createdAt, values, field: "created_at", mapping.createdAt)
            do {
                createdAt = try OutboxTimestamp(postgresText: text)
            } catch {
                throw OutboxMappingError(code: .invalidTimestamp, column: mapping.createdAt.columnName ?? "created_at", detail: text)
            }
        }
        let headers: [String: String]
        if case .position(let index) = layout.headers,
            let raw = try optionalBytes(values[index], column: mapping.headers.columnName ?? "headers")
        {
            headers = try Self.decodeHeaders(raw, column: mapping.headers.columnName ?? "headers")
        } else {
            headers = [:]
        }
        let aggregateID: String
        if case .absent = layout.aggregateID {
            aggregateID = idText  // no aggregate column: the event id keys the message
        } else {
            aggregateID = try required(layout.aggregateID, values, field: "aggregate_id", mapping.aggregateID)
        }
        guard case .position(let payloadIndex) = layout.payload else {
            throw OutboxMappingError(code: .missingColumn, column: "payload")
        }
        return OutboxEvent(
            id: id,
            aggregateType: try required(layout.aggregateType, values, field: "aggregate_type", mapping.aggregateType),
            aggregateID: aggregateID,
            eventType: try required(layout.eventType, values, field: "event_type", mapping.eventType),
            payload: try bytes(values[payloadIndex], column: mapping.payload.columnName ?? "payload"),
            headers: headers,
            createdAt: createdAt
        )
    }

    /// Maps a row given as column name → text value (the pgoutput text form; nil is SQL NULL),
    /// e.g. read from the table with every column cast to `text`. Same rules as the stream.
    public func event(
        fromTextColumns row: [String: String?], mapping: OutboxColumnMapping, commitTime: OutboxTimestamp? = nil
    ) throws(OutboxMappingError) -> OutboxEvent {
        let names = Array(row.keys)
        let layout = try OutboxColumnLayout(columnNames: names, mapping: mapping)
        let values: [ColumnValue] = names.map { name in
            guard let value = row[name] ?? nil else { return .null }
            return .text(Array(value.utf8))
        }
        return try event(from: values, layout: layout, commitTime: commitTime)
    }

    /// A field's text: its column's value (NULL is an error) or its constant.
    private func required(
        _ slot: OutboxColumnLayout.Slot, _ values: [ColumnValue], field: String, _ source: OutboxColumnSource
    ) throws(OutboxMappingError) -> String {
        switch slot {
        case .position(let index): return try string(values[index], column: source.columnName ?? field)
        case .constant(let text): return text
        case .absent: throw OutboxMappingError(code: .missingColumn, column: field)
        }
    }

    /// `headers` must be a JSON object (or null); string values are taken as they are, any other
    /// value is carried as its compact JSON text (a number stays `42`, an object `{"a":1}`).
    static func decodeHeaders(_ raw: [UInt8], column: String = "headers") throws(OutboxMappingError) -> [String: String] {
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(raw)
        } catch {
            throw OutboxMappingError(code: .invalidHeaders, column: column, detail: String(decoding: raw, as: UTF8.self))
        }
        switch parsed {
        case .null:
            return [:]
        case .object(let members):
            var headers: [String: String] = [:]
            headers.reserveCapacity(members.count)
            for (key, value) in members {
                if case .string(let text) = value {
                    headers[key] = text
                } else {
                    var writer = JSONWriter(capacity: 64)
                    writer.value(value)
                    headers[key] = String(decoding: writer.bytes, as: UTF8.self)
                }
            }
            return headers
        default:
            throw OutboxMappingError(code: .invalidHeaders, column: column, detail: String(decoding: raw, as: UTF8.self))
        }
    }

    private func optionalBytes(_ value: ColumnValue, column: String) throws(OutboxMappingError) -> [UInt8]? {
        switch value {
        case .null: return nil
        case .text(let bytes): return bytes
        case .binary, .unchangedToast:
            throw OutboxMappingError(code: .unsupportedValue, column: column)
        }
    }

    private func bytes(_ value: ColumnValue, column: String) throws(OutboxMappingError) -> [UInt8] {
        guard let bytes = try optionalBytes(value, column: column) else {
            throw OutboxMappingError(code: .nullValue, column: column)
        }
        return bytes
    }

    private func string(_ value: ColumnValue, column: String) throws(OutboxMappingError) -> String {
        let raw = try bytes(value, column: column)
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw OutboxMappingError(code: .invalidText, column: column)
        }
        return text
    }
}
