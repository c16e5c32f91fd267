/// One committed outbox row, decoded from the WAL.
///
/// `payload` keeps the jsonb text bytes exactly as Postgres sent them; the relay never re-encodes
/// the payload, so what the API wrote is what consumers read.
public struct OutboxEvent: Sendable, Hashable {
    public var id: Int64
    public var aggregateType: String
    public var aggregateID: String
    public var eventType: String
    public var payload: [UInt8]
    public var headers: [String: String]
    public var createdAt: OutboxTimestamp

    public init(
        id: Int64,
        aggregateType: String,
        aggregateID: String,
        eventType: String,
        payload: [UInt8],
        headers: [String: String],
        createdAt: OutboxTimestamp
    ) {
        self.id = id
        self.aggregateType = aggregateType
        self.aggregateID = aggregateID
        self.eventType = eventType
        self.payload = payload
        self.headers = headers
        self.createdAt = createdAt
    }
}
