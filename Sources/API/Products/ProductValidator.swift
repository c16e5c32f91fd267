import OutboxCore
/// Lengths count Unicode code points, as Postgres `char_length` does in the schema's checks.
/// Turns a parsed `POST /products` body into a ``ProductDraft`` or the full list of field errors
/// (every problem at once, so a client can fix them in one go). Unknown members are ignored.
public enum ProductValidator {
    public static let nameMaxLength = 200
    public static let descriptionMaxLength = 5_000
    public static let categoryMaxLength = 100

    public static func validate(_ body: JSONValue) -> Result<ProductDraft, ValidationFailure> {
        guard case .object = body else {
            return .failure(ValidationFailure([FieldError(field: "", message: "the body must be a JSON object, not \(body.typeName)")]))
        }
        var errors: [FieldError] = []

        var name: String?
        switch body["name"] {
        case nil, .null?:
            errors.append(FieldError(field: "name", message: "is required"))
        case .string(let raw)?:
            let trimmed = trimWhitespace(raw)
            if let problem = StorableText.problem(in: trimmed) {
                errors.append(FieldError(field: "name", message: problem))
            } else if trimmed.isEmpty {
                errors.append(FieldError(field: "name", message: "must not be empty"))
            } else if trimmed.unicodeScalars.count > nameMaxLength {
                errors.append(FieldError(field: "name", message: "must be at most \(nameMaxLength) characters"))
            } else {
                name = trimmed
            }
        case let other?:
            errors.append(FieldError(field: "name", message: "must be a string, not \(other.typeName)"))
        }

        let description = optionalText(body["description"], field: "description", maxLength: descriptionMaxLength, errors: &errors)
        let category = optionalText(body["category"], field: "category", maxLength: categoryMaxLength, errors: &errors)

        var price: Price?
        switch body["price"] {
        case nil, .null?:
            errors.append(FieldError(field: "price", message: "is required"))
        case .number(let text)?:
            price = parsePrice(text, errors: &errors)
        case let other?:
            errors.append(FieldError(field: "price", message: "must be a number, not \(other.typeName)"))
        }

        var stock: Int32?
        switch body["stock"] {
        case nil, .null?:
            errors.append(FieldError(field: "stock", message: "is required"))
        case .number(let text)?:
            stock = parseStock(text, errors: &errors)
        case let other?:
            errors.append(FieldError(field: "stock", message: "must be an integer, not \(other.typeName)"))
        }

        for field in ["created_at", "updated_at"] {
            switch body[field] {
            case nil, .null?:
                break
            case .string(let text)?:
                if !ISO8601Timestamp.isValid(text) {
                    errors.append(FieldError(field: field, message: "must be an ISO-8601 date-time (it is ignored; the server sets it)"))
                }
            case let other?:
                errors.append(FieldError(field: field, message: "must be an ISO-8601 date-time string, not \(other.typeName)"))
            }
        }

        guard errors.isEmpty, let name, let price, let stock else {
            return .failure(ValidationFailure(errors))
        }
        return .success(ProductDraft(name: name, description: description, price: price, stock: stock, category: category))
    }

    private static func trimWhitespace(_ text: String) -> String {
        guard let first = text.firstIndex(where: { !$0.isWhitespace }),
              let last = text.lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return String(text[first...last])
    }

    private static func optionalText(_ value: JSONValue?, field: String, maxLength: Int, errors: inout [FieldError]) -> String? {
        switch value {
        case nil, .null?:
            return nil
        case .string(let text)?:
            if let problem = StorableText.problem(in: text) {
                errors.append(FieldError(field: field, message: problem))
                return nil
            }
            if text.unicodeScalars.count > maxLength {
                errors.append(FieldError(field: field, message: "must be at most \(maxLength) characters"))
                return nil
            }
            return text
        case let other?:
            errors.append(FieldError(field: field, message: "must be a string, not \(other.typeName)"))
            return nil
        }
    }

    private static func parsePrice(_ text: String, errors: inout [FieldError]) -> Price? {
        guard let number = ExactNumber(jsonText: text) else {
            errors.append(FieldError(field: "price", message: "must be a number"))
            return nil
        }
        if number.isNegative {
            errors.append(FieldError(field: "price", message: "must be greater than or equal to 0"))
            return nil
        }
        switch number.scaled(decimalPlaces: 2, maximum: Price.maximumCents) {
        case .exact(let cents):
            return Price(cents: cents)
        case .tooPrecise:
            errors.append(FieldError(field: "price", message: "must have at most 2 decimal places"))
        case .outOfRange:
            errors.append(FieldError(field: "price", message: "must be at most 9999999999.99"))
        }
        return nil
    }

    private static func parseStock(_ text: String, errors: inout [FieldError]) -> Int32? {
        guard let number = ExactNumber(jsonText: text) else {
            errors.append(FieldError(field: "stock", message: "must be an integer"))
            return nil
        }
        if number.isNegative {
            errors.append(FieldError(field: "stock", message: "must be greater than or equal to 0"))
            return nil
        }
        switch number.scaled(decimalPlaces: 0, maximum: Int64(Int32.max)) {
        case .exact(let value):
            return Int32(value)
        case .tooPrecise:
            errors.append(FieldError(field: "stock", message: "must be an integer"))
        case .outOfRange:
            errors.append(FieldError(field: "stock", message: "must be at most \(Int32.max)"))
        }
        return nil
    }
}

/// All field errors of one rejected body.
public struct ValidationFailure: Error, Sendable, Hashable {
    public var errors: [FieldError]
    public init(_ errors: [FieldError]) { self.errors = errors }
}
