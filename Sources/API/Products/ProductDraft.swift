/// A create request that passed validation: what will be written, before the server assigns the
/// id and timestamps.
public struct ProductDraft: Sendable, Hashable {
    public var name: String
    public var description: String?
    public var price: Price
    public var stock: Int32
    public var category: String?

    public init(name: String, description: String?, price: Price, stock: Int32, category: String?) {
        self.name = name
        self.description = description
        self.price = price
        self.stock = stock
        self.category = category
    }
}
