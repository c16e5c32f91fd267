import OutboxCore
/// The JSON forms of products and their events, written with ``JSONWriter`` in sorted key order
/// (the order `JSONEncoder` with `.sortedKeys` produced before, so stored replays and events keep
/// their shape).
extension Product {
    /// `createdAtText`/`updatedAtText`: the timestamps already formatted, if the caller has them.
    func writeJSON(into writer: inout JSONWriter, createdAtText: String? = nil, updatedAtText: String? = nil) {
        writer.beginObject()
        writer.key("category"); writer.string(category)
        writer.key("created_at"); writer.string(createdAtText ?? ISO8601Timestamp.format(millisecondsSince1970: createdAtMillis))
        // Absent optional values are written as explicit nulls: the shape never changes.
        writer.key("description"); writer.string(description)
        writer.key("id"); writer.string(id.description)
        writer.key("name"); writer.string(name)
        writer.key("price"); writer.number(price.jsonText)
        writer.key("stock"); writer.number(stock)
        writer.key("updated_at"); writer.string(updatedAtText ?? ISO8601Timestamp.format(millisecondsSince1970: updatedAtMillis))
        writer.endObject()
    }

    var jsonBytes: [UInt8] { jsonBytes() }

    func jsonBytes(createdAtText: String? = nil, updatedAtText: String? = nil) -> [UInt8] {
        var writer = JSONWriter()
        writeJSON(into: &writer, createdAtText: createdAtText, updatedAtText: updatedAtText)
        return writer.bytes
    }
}

extension ProductCreatedEvent {
    /// The outbox payload. `productJSON` is the product's own encoding, embedded as `data`.
    static func payloadBytes(eventID: SnowflakeID, product: Product, productJSON: [UInt8], occurredAtText: String? = nil) -> [UInt8] {
        var writer = JSONWriter(capacity: productJSON.count + 200)
        writer.beginObject()
        writer.key("aggregate_id"); writer.string(product.id.description)
        writer.key("aggregate_type"); writer.string(aggregateType)
        writer.key("data"); writer.raw(productJSON)
        writer.key("event_id"); writer.string(eventID.description)
        writer.key("event_type"); writer.string(eventType)
        writer.key("occurred_at"); writer.string(occurredAtText ?? ISO8601Timestamp.format(millisecondsSince1970: product.createdAtMillis))
        writer.endObject()
        return writer.bytes
    }
}

extension Price {
    /// The shortest exact JSON number: `19.99`, `19.9`, `5`.
    var jsonText: String {
        let whole = cents / 100
        let fraction = cents % 100
        if fraction == 0 { return String(whole) }
        if fraction % 10 == 0 { return "\(whole).\(fraction / 10)" }
        return "\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
