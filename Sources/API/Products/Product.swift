/// A stored product as the API returns it. Ids are JSON strings: snowflakes exceed 2⁵³, the
/// largest integer JavaScript clients read exactly. The price is an exact JSON number.
public struct Product: Sendable, Hashable {
    public var id: SnowflakeID
    public var name: String
    public var description: String?
    public var price: Price
    public var stock: Int32
    public var category: String?
    /// Milliseconds since 1970 (the database keeps microseconds; we only ever write whole ms).
    public var createdAtMillis: Int64
    public var updatedAtMillis: Int64

    public init(id: SnowflakeID, draft: ProductDraft, createdAtMillis: Int64) {
        self.id = id
        self.name = draft.name
        self.description = draft.description
        self.price = draft.price
        self.stock = draft.stock
        self.category = draft.category
        self.createdAtMillis = createdAtMillis
        self.updatedAtMillis = createdAtMillis
    }

    public init(
        id: SnowflakeID, name: String, description: String?, price: Price, stock: Int32, category: String?,
        createdAtMillis: Int64, updatedAtMillis: Int64
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.price = price
        self.stock = stock
        self.category = category
        self.createdAtMillis = createdAtMillis
        self.updatedAtMillis = updatedAtMillis
    }
}
