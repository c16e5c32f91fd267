/// Why migrating stopped. The database is left at the last fully applied migration.
public struct MigrationError: Error, Sendable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case directoryNotFound, directoryUnreadable, badFileName, duplicateVersion, checksumMismatch, statementFailed, unknownApplied
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        public static let directoryNotFound = Code(.directoryNotFound)
        public static let directoryUnreadable = Code(.directoryUnreadable)
        public static let badFileName = Code(.badFileName)
        public static let duplicateVersion = Code(.duplicateVersion)
        /// An applied migration's file changed afterwards.
        public static let checksumMismatch = Code(.checksumMismatch)
        public static let statementFailed = Code(.statementFailed)
        /// The database has a migration this build does not know: it is newer than the code.
        public static let unknownApplied = Code(.unknownApplied)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var migration: String?
    public var reason: String
    public var underlying: (any Error)?

    public init(code: Code, migration: String?, reason: String, underlying: (any Error)? = nil) {
        self.code = code
        self.migration = migration
        self.reason = reason
        self.underlying = underlying
    }

    public var description: String {
        "migration error [\(code)]" + (migration.map { " in \($0)" } ?? "") + ": " + reason
    }
}
