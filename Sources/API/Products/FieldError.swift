/// One rejected member of a request body, reported in the problem document's `errors` list.
public struct FieldError: Sendable, Hashable, Codable {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
}
