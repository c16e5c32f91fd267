/// Why the configuration could not be loaded. `description` is the one line printed before exit.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidValue, unknownKey, missingValue, unreadableFile, malformedFile, malformedFlag
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        public static let invalidValue = Code(.invalidValue)
        public static let unknownKey = Code(.unknownKey)
        public static let missingValue = Code(.missingValue)
        public static let unreadableFile = Code(.unreadableFile)
        public static let malformedFile = Code(.malformedFile)
        public static let malformedFlag = Code(.malformedFlag)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The configuration key concerned (`database.port`), when there is one.
    public var key: String?
    /// Where the bad value came from: a file and line, an environment variable or a flag.
    public var source: String?
    public var reason: String

    public init(code: Code, key: String? = nil, source: String? = nil, reason: String) {
        self.code = code
        self.key = key
        self.source = source
        self.reason = reason
    }

    public var description: String {
        var line = "configuration error"
        if let key { line += ": \(key)" }
        if let source { line += " (from \(source))" }
        return line + ": " + reason
    }
}
