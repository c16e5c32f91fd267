/// The one relation the relay maps to events: schema (namespace) + table name.
public struct OutboxTable: Sendable, Hashable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String = "public", name: String = "outbox") {
        self.namespace = namespace
        self.name = name
    }

    /// `relay.table`: `name` (in `public`) or `schema.name`, as validated by the configuration.
    public init(configured: String) {
        let parts = configured.split(separator: ".", maxSplits: 1).map(String.init)
        if parts.count == 2 {
            self.init(namespace: parts[0], name: parts[1])
        } else {
            self.init(name: configured)
        }
    }

    /// pgoutput sends an empty namespace for `pg_catalog`; everything else is spelled out.
    public func matches(namespace: String, name: String) -> Bool {
        self.namespace == namespace && self.name == name
    }

    /// `"schema"."name"`, for SQL.
    public var quotedName: String {
        ReplicationConfiguration.quoteIdentifier(namespace) + "." + ReplicationConfiguration.quoteIdentifier(name)
    }

    public var description: String { "\(namespace).\(name)" }
}
