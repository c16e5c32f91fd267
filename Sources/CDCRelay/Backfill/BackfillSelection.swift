import OutboxCore

/// Which outbox rows a backfill publishes: all (only when the backfill creates the slot), or
/// those from a time (`--since`, on the mapped `created_at`) and/or from an event id (`--from-id`).
public struct BackfillSelection: Sendable, Hashable, CustomStringConvertible {
    /// A `timestamptz` literal as Postgres reads it (`2026-12-01T00:00:00Z`, `2026-12-01 10:00+02`).
    public var since: String?
    public var fromID: Int64?

    public init(since: String? = nil, fromID: Int64? = nil) {
        self.since = since
        self.fromID = fromID
    }

    public var isEverything: Bool { since == nil && fromID == nil }

    /// The WHERE condition over the outbox's own column names (`true` for everything).
    public func predicate(mapping: OutboxColumnMapping) throws(BackfillError) -> String {
        var terms: [String] = []
        if let since {
            guard let column = mapping.createdAt.columnName else {
                throw BackfillError(
                    code: .selectionUnsupported,
                    message: "--since needs a created_at column, but relay.columns.created_at is empty; use --from-id")
            }
            terms.append("\(ReplicationConfiguration.quoteIdentifier(column)) >= \(ReplicationConfiguration.quoteLiteral(since))::timestamptz")
        }
        if let fromID, let column = mapping.id.columnName {
            terms.append("\(ReplicationConfiguration.quoteIdentifier(column)) >= \(fromID)")
        }
        return terms.isEmpty ? "true" : terms.joined(separator: " AND ")
    }

    public var description: String {
        var parts: [String] = []
        if let since { parts.append("since \(since)") }
        if let fromID { parts.append("from id \(fromID)") }
        return parts.isEmpty ? "every row" : parts.joined(separator: ", ")
    }
}
