import Foundation
import Logging
import PostgresNIO

/// What a migration run did.
public struct MigrationReport: Sendable, Equatable {
    /// Migrations this run applied, in order.
    public var applied: [String]
    /// Migrations that were already recorded in `schema_migrations`.
    public var alreadyApplied: [String]
}

/// Applies `sql/` in order, each file in its own transaction, recorded in `schema_migrations`.
///
/// Every transaction first takes one transaction-scoped advisory lock, then re-checks whether its
/// migration is recorded: two processes starting at once serialize, and the loser finds the work
/// done. Nothing is held after a transaction ends, so a cancelled run cannot leave a lock behind.
public struct Migrator: Sendable {
    /// Arbitrary but fixed: "outbox" in ASCII.
    static let advisoryLockKey: Int64 = 0x6f75_7462_6f78

    public var directory: URL?
    public var logger: Logger

    public init(directory: URL? = nil, logger: Logger) {
        self.directory = directory
        self.logger = logger
    }

    public func loadMigrations() throws(MigrationError) -> [Migration] {
        guard let directory = directory ?? Migration.locateDirectory() else {
            throw MigrationError(code: .directoryNotFound, migration: nil, reason: "no sql/ folder found; set OUTBOX_MIGRATIONS_DIR")
        }
        return try Migration.load(from: directory)
    }

    public func migrate(using client: PostgresClient) async throws -> MigrationReport {
        let migrations = try loadMigrations()
        let recorded = try await client.withTransaction(logger: logger) { connection in
            try await lock(connection)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    text PRIMARY KEY,
                    name       text NOT NULL,
                    checksum   text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """, logger: logger)
            var recorded: [String: String] = [:]
            for try await (version, checksum) in try await connection.query(
                "SELECT version, checksum FROM schema_migrations", logger: logger
            ).decode((String, String).self) {
                recorded[version] = checksum
            }
            return recorded
        }

        let known = Set(migrations.map(\.version))
        if let unknown = recorded.keys.sorted().last(where: { !known.contains($0) }) {
            throw MigrationError(code: .unknownApplied, migration: unknown, reason: "the database has migration \(unknown), which this build does not know: it is newer than this program")
        }
        var report = MigrationReport(applied: [], alreadyApplied: [])
        for migration in migrations {
            if let checksum = recorded[migration.version] {
                guard checksum == migration.checksum else {
                    throw MigrationError(code: .checksumMismatch, migration: migration.name, reason: "the file changed after it was applied; add a new migration instead of editing an applied one")
                }
                report.alreadyApplied.append(migration.name)
                continue
            }
            if try await apply(migration, using: client) {
                logger.info("applied migration", metadata: ["migration": "\(migration.name)"])
                report.applied.append(migration.name)
            } else {
                report.alreadyApplied.append(migration.name)
            }
        }
        return report
    }

    /// Returns false when another process applied it first.
    private func apply(_ migration: Migration, using client: PostgresClient) async throws -> Bool {
        let version = migration.version
        do {
            return try await client.withTransaction(logger: logger) { connection in
                try await lock(connection)
                let existing = try await connection.query(
                    "SELECT 1 FROM schema_migrations WHERE version = \(version)", logger: logger
                ).collect()
                guard existing.isEmpty else { return false }
                for (index, statement) in SQLStatementSplitter.split(migration.sql).enumerated() {
                    do {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    } catch {
                        throw MigrationError(
                            code: .statementFailed, migration: migration.name,
                            reason: "statement \(index + 1) failed: \(String(reflecting: error))", underlying: error
                        )
                    }
                }
                let name = migration.name
                let checksum = migration.checksum
                try await connection.query(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (\(version), \(name), \(checksum))",
                    logger: logger
                )
                return true
            }
        } catch let error as PostgresTransactionError {
            if let inner = error.closureError as? MigrationError { throw inner }
            throw error
        }
    }

    private func lock(_ connection: PostgresConnection) async throws {
        let key = Self.advisoryLockKey
        try await connection.query("SELECT pg_advisory_xact_lock(\(key))", logger: logger)
    }
}
