/// The outbox payload for a new product; the relay publishes these bytes unchanged.
public struct ProductCreatedEvent: Sendable, Encodable {
    public static let eventType = "product.created"
    public static let aggregateType = "product"

    public var eventID: SnowflakeID
    public var product: Product

    public init(eventID: SnowflakeID, product: Product) {
        self.eventID = eventID
        self.product = product
    }

    /// The outbox `aggregate_id` column: the product id as text.
    public var aggregateID: String { product.id.description }
    public var occurredAtMillis: Int64 { product.createdAtMillis }

    private enum CodingKeys: String, CodingKey {
        case eventID = "event_id"
        case eventType = "event_type"
        case aggregateType = "aggregate_type"
        case aggregateID = "aggregate_id"
        case occurredAt = "occurred_at"
        case data
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(eventID.description, forKey: .eventID)
        try container.encode(Self.eventType, forKey: .eventType)
        try container.encode(Self.aggregateType, forKey: .aggregateType)
        try container.encode(aggregateID, forKey: .aggregateID)
        try container.encode(ISO8601Timestamp.format(millisecondsSince1970: occurredAtMillis), forKey: .occurredAt)
        try container.encode(product, forKey: .data)
    }
}
