import Foundation

/// A secret kept in a file (`pulsar.token_file`), read again on every use so a rotated token is
/// picked up without a restart. Errors name the file, never its content.
public struct TokenFile: Sendable, Hashable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// The file's content without surrounding whitespace (a trailing newline is usual).
    public func read() throws(TokenFileError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenFileError(code: .unreadable, path: path)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TokenFileError(code: .notText, path: path)
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw TokenFileError(code: .empty, path: path) }
        return token
    }
}

public struct TokenFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable { case unreadable, notText, empty }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        public static let unreadable = Code(.unreadable)
        public static let notText = Code(.notText)
        public static let empty = Code(.empty)
        public var description: String { base.rawValue }
    }

    public var code: Code
    public var path: String

    public var description: String { "TokenFileError(\(code), file: \(path))" }
}
