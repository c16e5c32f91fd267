/// Why a request body is not well-formed JSON, with the byte offset where parsing stopped.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case unexpectedEnd = "unexpected end of input"
            case unexpectedCharacter = "unexpected character"
            case invalidNumber = "invalid number"
            case invalidString = "invalid string"
            case invalidEscape = "invalid escape sequence"
            case invalidUTF8 = "invalid UTF-8"
            case duplicateKey = "duplicate object key"
            case tooDeep = "nesting too deep"
            case trailingData = "unexpected data after the JSON value"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        public static let unexpectedEnd = Self(.unexpectedEnd)
        public static let unexpectedCharacter = Self(.unexpectedCharacter)
        public static let invalidNumber = Self(.invalidNumber)
        public static let invalidString = Self(.invalidString)
        public static let invalidEscape = Self(.invalidEscape)
        public static let invalidUTF8 = Self(.invalidUTF8)
        public static let duplicateKey = Self(.duplicateKey)
        public static let tooDeep = Self(.tooDeep)
        public static let trailingData = Self(.trailingData)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// Byte offset in the input.
    public var offset: Int

    public init(code: Code, offset: Int) {
        self.code = code
        self.offset = offset
    }

    public var description: String { "\(code) at byte \(offset)" }
}
