/// What the relay sends to Pulsar for one outbox event, before it meets a concrete client type.
public struct OutboxMessage: Sendable, Hashable {
    public var topic: String
    public var payload: [UInt8]
    public var key: String
    public var properties: [String: String]
    /// `created_at` in milliseconds since the epoch.
    public var eventTime: UInt64
    public var sequenceID: Int64
    public var eventID: Int64

    public init(topic: String, payload: [UInt8], key: String, properties: [String: String], eventTime: UInt64, sequenceID: Int64, eventID: Int64) {
        self.topic = topic
        self.payload = payload
        self.key = key
        self.properties = properties
        self.eventTime = eventTime
        self.sequenceID = sequenceID
        self.eventID = eventID
    }

    public init(event: OutboxEvent, topic: String, sequenceID: Int64) {
        self.topic = topic
        self.payload = event.payload
        self.key = event.aggregateID
        // Headers first so the relay's own properties win over a header with the same name.
        var properties = event.headers
        properties["event_id"] = String(event.id)
        properties["event_type"] = event.eventType
        properties["aggregate_type"] = event.aggregateType
        properties["aggregate_id"] = event.aggregateID
        properties["created_at"] = event.createdAt.iso8601
        self.properties = properties
        self.eventTime = UInt64(clamping: event.createdAt.millisecondsSinceEpoch)
        self.sequenceID = sequenceID
        self.eventID = event.id
    }
}
