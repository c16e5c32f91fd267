/// The one relation the relay maps to events: schema (namespace) + table name.
public struct OutboxTable: Sendable, Hashable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String = "public", name: String = "outbox") {
        self.namespace = namespace
        self.name = name
    }

    /// pgoutput sends an empty namespace for `pg_catalog`; everything else is spelled out.
    public func matches(namespace: String, name: String) -> Bool {
        self.namespace == namespace && self.name == name
    }

    public var description: String { "\(namespace).\(name)" }
}
