/// The outbox event for a new product; the relay publishes its payload bytes unchanged. Its JSON
/// form is written by `payloadBytes(eventID:product:productJSON:occurredAtText:)`.
public enum ProductCreatedEvent {
    public static let eventType = "product.created"
    public static let aggregateType = "product"
}
