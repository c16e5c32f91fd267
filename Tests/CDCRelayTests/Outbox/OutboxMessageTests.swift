import Testing

@testable import CDCRelay

@Suite struct OutboxMessageTests {
    @Test func carriesKeyPropertiesHeadersAndEventTime() {
        let event = OutboxEvent(
            id: 123_456_789, aggregateType: "product", aggregateID: "987", eventType: "product.created",
            payload: Array(#"{"x":1}"#.utf8),
            headers: ["traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "event_id": "spoofed"],
            createdAt: OutboxTimestamp(microsecondsSinceEpoch: 1_795_982_903_123_456))
        let message = OutboxMessage(event: event, topic: "persistent://public/default/products", sequenceID: 77)
        #expect(message.payload == event.payload)
        #expect(message.key == "987")
        #expect(message.sequenceID == 77)
        #expect(message.eventTime == 1_795_982_903_123)
        #expect(message.properties == [
            "event_id": "123456789",
            "event_type": "product.created",
            "aggregate_type": "product",
            "aggregate_id": "987",
            "created_at": "2026-11-29T20:08:23.123456Z",
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ])
    }
}
