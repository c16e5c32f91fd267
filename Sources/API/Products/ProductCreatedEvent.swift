/// The outbox payload for a new product; the relay publishes these bytes unchanged.
public struct ProductCreatedEvent: Sendable {
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
}
