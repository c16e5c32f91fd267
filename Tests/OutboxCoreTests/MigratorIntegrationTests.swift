import TestSupport
import Foundation
import Logging
import PostgresNIO
import Testing
@testable import OutboxCore

/// Runs the real `sql/` folder against a fresh database of the local stack.
@Suite(.enabled(if: StackEnvironment.shouldRun))
struct MigratorIntegrationTests {
    static let sqlDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("sql")

    let logger = Logger(label: "migrator-test")

    private func client(database: String, username: String = "postgres") -> PostgresClient {
        var config = OutboxConfiguration.Database()
        config.host = StackEnvironment.pgHost
        config.port = StackEnvironment.pgPort
        config.username = username
        config.database = database
        config.poolSize = 4
        // Building a client from our own configuration is part of what is tested.
        return PostgresClient(configuration: (try? config.postgresClientConfiguration()) ?? .init(host: "127.0.0.1", username: "postgres", password: nil, database: database, tls: .disable))
    }

    /// Creates an empty database owned by `app` and runs `body` with a client for it as `app`.
    private func withFreshDatabase(_ body: (String) async throws -> Void) async throws {
        let name = "migrate_\(UInt32.random(in: 0...UInt32.max))"
        let admin = client(database: "postgres")
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await admin.run() }
            try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name) OWNER app"), logger: logger)
            defer { group.cancelAll() }
            do {
                try await body(name)
            } catch {
                _ = try? await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
                throw error
            }
            try await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
        }
    }

    private func withClient<T: Sendable>(database: String, _ body: (PostgresClient) async throws -> T) async throws -> T {
        let client = client(database: database, username: "app")
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    @Test func appliesAllThenIsANoOp() async throws {
        try await withFreshDatabase { db in
            let migrator = Migrator(directory: Self.sqlDirectory, logger: logger)
            let expected = try migrator.loadMigrations().map(\.name)
            let first = try await withClient(database: db) { try await migrator.migrate(using: $0) }
            #expect(first.applied == expected)
            #expect(first.alreadyApplied.isEmpty)
            let second = try await withClient(database: db) { try await migrator.migrate(using: $0) }
            #expect(second.applied.isEmpty)
            #expect(second.alreadyApplied == expected)

            try await withClient(database: db) { client in
                let rows = try await client.query("SELECT count(*)::int FROM schema_migrations", logger: logger)
                var count = 0
                for try await c in rows.decode(Int.self) { count = c }
                #expect(count == expected.count)
                let pub = try await client.query("SELECT pubinsert, pubupdate, pubdelete FROM pg_publication WHERE pubname = 'outbox_pub'", logger: logger)
                var flags: [(Bool, Bool, Bool)] = []
                for try await f in pub.decode((Bool, Bool, Bool).self) { flags.append(f) }
                #expect(flags.count == 1)
                #expect(flags.first.map { $0 == (true, false, false) } == true)
            }
        }
    }

    @Test func concurrentRunsApplyEachMigrationOnce() async throws {
        try await withFreshDatabase { db in
            let migrator = Migrator(directory: Self.sqlDirectory, logger: logger)
            let expected = try migrator.loadMigrations().map(\.name)
            let reports = try await withClient(database: db) { client in
                try await withThrowingTaskGroup(of: MigrationReport.self) { group in
                    for _ in 0..<4 { group.addTask { try await migrator.migrate(using: client) } }
                    var all: [MigrationReport] = []
                    for try await r in group { all.append(r) }
                    return all
                }
            }
            let appliedEverywhere = reports.flatMap(\.applied)
            #expect(appliedEverywhere.sorted() == expected.sorted())
            for report in reports {
                #expect(Set(report.applied).union(report.alreadyApplied) == Set(expected))
            }
        }
    }

    @Test func editedAppliedMigrationIsRefused() async throws {
        try await withFreshDatabase { db in
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sql-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try "CREATE TABLE t1 (x int);".write(to: dir.appendingPathComponent("0001_t1.sql"), atomically: true, encoding: .utf8)
            let migrator = Migrator(directory: dir, logger: logger)
            _ = try await withClient(database: db) { try await migrator.migrate(using: $0) }
            try "CREATE TABLE t1 (x bigint);".write(to: dir.appendingPathComponent("0001_t1.sql"), atomically: true, encoding: .utf8)
            let error = await #expect(throws: MigrationError.self) {
                _ = try await withClient(database: db) { try await migrator.migrate(using: $0) }
            }
            #expect(error?.code == .checksumMismatch)
        }
    }

    @Test func failingStatementRollsBackItsMigration() async throws {
        try await withFreshDatabase { db in
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sql-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try "CREATE TABLE ok_t (x int);".write(to: dir.appendingPathComponent("0001_ok.sql"), atomically: true, encoding: .utf8)
            try "CREATE TABLE half_t (x int); SELECT no_such_column FROM half_t;".write(to: dir.appendingPathComponent("0002_bad.sql"), atomically: true, encoding: .utf8)
            let migrator = Migrator(directory: dir, logger: logger)
            let error = await #expect(throws: MigrationError.self) {
                _ = try await withClient(database: db) { try await migrator.migrate(using: $0) }
            }
            #expect(error?.code == .statementFailed)
            #expect(error?.migration == "0002_bad")
            try await withClient(database: db) { client in
                let rows = try await client.query("SELECT to_regclass('half_t') IS NULL, to_regclass('ok_t') IS NOT NULL", logger: logger)
                for try await (halfGone, okThere) in rows.decode((Bool, Bool).self) {
                    #expect(halfGone)
                    #expect(okThere)
                }
            }
        }
    }
}
