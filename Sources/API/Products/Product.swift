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

extension Product: Encodable {
    private enum CodingKeys: String, CodingKey {
        case id, name, description, price, stock, category
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id.description, forKey: .id)
        try container.encode(name, forKey: .name)
        // Absent optional values are written as explicit nulls: the shape never changes.
        try container.encode(description, forKey: .description)
        try container.encode(price.decimal, forKey: .price)
        try container.encode(stock, forKey: .stock)
        try container.encode(category, forKey: .category)
        try container.encode(ISO8601Timestamp.format(millisecondsSince1970: createdAtMillis), forKey: .createdAt)
        try container.encode(ISO8601Timestamp.format(millisecondsSince1970: updatedAtMillis), forKey: .updatedAt)
    }
}
