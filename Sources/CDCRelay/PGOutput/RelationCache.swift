/// The Relation (and Type) messages seen on the current walsender session, by OID.
///
/// The server sends a Relation before a table's first change on each session, so a cache must not
/// outlive its connection: call `removeAll()` on reconnect.
public struct RelationCache: Sendable {
    private var relations: [UInt32: RelationMessage] = [:]
    private var types: [UInt32: TypeMessage] = [:]

    public init() {}

    public var count: Int { relations.count }

    public func relation(oid: UInt32) -> RelationMessage? {
        relations[oid]
    }

    public func type(oid: UInt32) -> TypeMessage? {
        types[oid]
    }

    public mutating func store(_ relation: RelationMessage) {
        relations[relation.oid] = relation
    }

    public mutating func store(_ type: TypeMessage) {
        types[type.oid] = type
    }

    /// Records Relation and Type messages; other messages leave the cache unchanged.
    public mutating func observe(_ message: PGOutputMessage) {
        switch message {
        case .relation(let relation): store(relation)
        case .type(let type): store(type)
        default: break
        }
    }

    public mutating func removeAll() {
        relations.removeAll()
        types.removeAll()
    }
}
