import OutboxCore

/// Turns the text columns of an outbox Insert into an `OutboxEvent`. Pure.
public struct OutboxRowMapper: Sendable {
    public init() {}

    public func event(from values: [ColumnValue], layout: OutboxColumnLayout) throws(OutboxMappingError) -> OutboxEvent {
        guard values.count == layout.columnCount else {
            throw OutboxMappingError(
                code: .columnCountMismatch,
                detail: "tuple has \(values.count) columns, relation has \(layout.columnCount)"
            )
        }
        let idText = try string(values[layout.id], column: "id")
        guard let id = Int64(idText) else {
            throw OutboxMappingError(code: .invalidInteger, column: "id", detail: idText)
        }
        let createdAt = try OutboxTimestamp(postgresText: string(values[layout.createdAt], column: "created_at"))
        let headers: [String: String]
        if let index = layout.headers, let raw = try optionalBytes(values[index], column: "headers") {
            headers = try Self.decodeHeaders(raw)
        } else {
            headers = [:]
        }
        return OutboxEvent(
            id: id,
            aggregateType: try string(values[layout.aggregateType], column: "aggregate_type"),
            aggregateID: try string(values[layout.aggregateID], column: "aggregate_id"),
            eventType: try string(values[layout.eventType], column: "event_type"),
            payload: try bytes(values[layout.payload], column: "payload"),
            headers: headers,
            createdAt: createdAt
        )
    }

    /// `headers` must be a JSON object (or null); string values are taken as they are, any other
    /// value is carried as its compact JSON text (a number stays `42`, an object `{"a":1}`).
    static func decodeHeaders(_ raw: [UInt8]) throws(OutboxMappingError) -> [String: String] {
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(raw)
        } catch {
            throw OutboxMappingError(code: .invalidHeaders, column: "headers", detail: String(decoding: raw, as: UTF8.self))
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
            throw OutboxMappingError(code: .invalidHeaders, column: "headers", detail: String(decoding: raw, as: UTF8.self))
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
