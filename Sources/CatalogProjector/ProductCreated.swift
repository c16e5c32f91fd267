import OutboxCore

/// The fields of a `product.created` event the read model keeps, parsed from the payload the API
/// writes (`{"data":{"id":"…","name":…,"category":…,"price":19.99,"stock":3,…},"event_type":…}`).
public struct ProductCreated: Sendable, Equatable {
    public var productID: Int64
    public var name: String
    public var category: String
    /// The JSON number's text, stored as numeric(12,2) by Postgres (no binary floating point).
    public var price: String
    public var stock: Int64

    public static let eventType = "product.created"

    /// A payload that is not a product.created event, or lacks a field.
    public struct DecodeError: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { "product.created payload: \(reason)" }
    }

    public init(productID: Int64, name: String, category: String, price: String, stock: Int64) {
        self.productID = productID
        self.name = name
        self.category = category
        self.price = price
        self.stock = stock
    }

    public init(payload: [UInt8]) throws(DecodeError) {
        let root: JSONValue
        do {
            root = try JSONParser.parse(payload)
        } catch {
            throw DecodeError(reason: "not JSON (\(error))")
        }
        guard let data = root["data"], case .object = data else { throw DecodeError(reason: "no data object") }
        guard case .string(let idText)? = data["id"], let id = Int64(idText) else { throw DecodeError(reason: "data.id is not an integer string") }
        guard case .string(let name)? = data["name"] else { throw DecodeError(reason: "data.name is not a string") }
        guard case .string(let category)? = data["category"] else { throw DecodeError(reason: "data.category is not a string") }
        guard case .number(let price)? = data["price"] else { throw DecodeError(reason: "data.price is not a number") }
        guard case .number(let stockText)? = data["stock"], let stock = Int64(stockText) else { throw DecodeError(reason: "data.stock is not an integer") }
        self.init(productID: id, name: name, category: category, price: price, stock: stock)
    }

    /// The event type from the message properties (the relay sets it) or else the payload.
    public static func isProductCreated(properties: [String: String], payload: [UInt8]) -> Bool {
        if let type = properties["event_type"] { return type == eventType }
        guard let root = try? JSONParser.parse(payload), case .string(let type)? = root["event_type"] else { return false }
        return type == eventType
    }
}
