import OutboxCore

/// Where each event field sits in the tuples of one Relation message, by the configured mapping.
///
/// Built from column *names*, so column order and extra columns in the table do not matter.
public struct OutboxColumnLayout: Sendable, Hashable {
    /// One field: a tuple position, a constant, or nothing (the mapper's fallback applies).
    enum Slot: Sendable, Hashable {
        case position(Int)
        case constant(String)
        case absent
    }

    /// The default mapping's required columns (the project's own outbox).
    public static let requiredColumns = ["id", "aggregate_type", "aggregate_id", "event_type", "payload", "created_at"]

    public let mapping: OutboxColumnMapping
    public let columnCount: Int
    let id: Slot
    let aggregateType: Slot
    let aggregateID: Slot
    let eventType: Slot
    let payload: Slot
    let createdAt: Slot
    /// A named headers column the table lacks maps to events without headers (as before mapping).
    let headers: Slot

    public init(columnNames: [String], mapping: OutboxColumnMapping = OutboxColumnMapping()) throws(OutboxMappingError) {
        var positions: [String: Int] = [:]
        for (index, name) in columnNames.enumerated() where positions[name] == nil {
            positions[name] = index
        }
        func slot(_ source: OutboxColumnSource, required: Bool = true) throws(OutboxMappingError) -> Slot {
            switch source {
            case .column(let name):
                if let index = positions[name] { return .position(index) }
                guard !required else { throw OutboxMappingError(code: .missingColumn, column: name) }
                return .absent
            case .constant(let text):
                return .constant(text)
            case .absent:
                return .absent
            }
        }
        self.mapping = mapping
        self.columnCount = columnNames.count
        self.id = try slot(mapping.id)
        self.aggregateType = try slot(mapping.aggregateType)
        self.aggregateID = try slot(mapping.aggregateID)
        self.eventType = try slot(mapping.eventType)
        self.payload = try slot(mapping.payload)
        self.createdAt = try slot(mapping.createdAt)
        self.headers = try slot(mapping.headers, required: false)
    }

    /// The payload's tuple position (checked against `relay.max_event_bytes` before mapping).
    var payloadPosition: Int? {
        if case .position(let index) = payload { return index }
        return nil
    }
}
