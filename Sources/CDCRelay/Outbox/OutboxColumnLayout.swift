/// Where each outbox column sits in the tuples of one Relation message.
///
/// Built from column *names*, so column order and extra columns in the table do not matter.
public struct OutboxColumnLayout: Sendable, Hashable {
    public static let requiredColumns = ["id", "aggregate_type", "aggregate_id", "event_type", "payload", "created_at"]

    public let columnCount: Int
    let id: Int
    let aggregateType: Int
    let aggregateID: Int
    let eventType: Int
    let payload: Int
    let createdAt: Int
    /// `headers` is optional: a table without it maps to events without headers.
    let headers: Int?

    public init(columnNames: [String]) throws(OutboxMappingError) {
        var positions: [String: Int] = [:]
        for (index, name) in columnNames.enumerated() where positions[name] == nil {
            positions[name] = index
        }
        func position(_ name: String) throws(OutboxMappingError) -> Int {
            guard let index = positions[name] else {
                throw OutboxMappingError(code: .missingColumn, column: name)
            }
            return index
        }
        self.columnCount = columnNames.count
        self.id = try position("id")
        self.aggregateType = try position("aggregate_type")
        self.aggregateID = try position("aggregate_id")
        self.eventType = try position("event_type")
        self.payload = try position("payload")
        self.createdAt = try position("created_at")
        self.headers = positions["headers"]
    }
}
