import TestSupport
import NIOSSL
import Foundation
import Logging
import OutboxCore
import PostgresNIO
import Synchronization
@testable import API

/// A private Postgres schema holding the base tables, so suites running in parallel never see
/// each other's rows (and a test may add triggers without affecting others). Connections of
/// `client` resolve unqualified table names to that schema through `search_path`.
struct TestDatabase: Sendable {
    let schema: String
    let client: PostgresClient
    let admin: PostgresClient
    /// For connections outside the pool (the API's create writers), on the private schema too.
    let writerConnection: CreateWriterSettings
    /// Run when the test is done, before the schema is dropped (closing stores' connections).
    let cleanup = Cleanup()
    static let logger = Logger(label: "api-tests")

    final class Cleanup: Sendable {
        private let actions = Mutex<[@Sendable () async -> Void]>([])

        func add(_ action: @escaping @Sendable () async -> Void) {
            actions.withLock { $0.append(action) }
        }

        func run() async {
            for action in actions.withLock({ actions in defer { actions.removeAll() }; return actions }) { await action() }
        }
    }

    /// The create writers' settings, like the pool's of ``configuration(host:port:searchPath:)``.
    static func writerSettings(host: String, port: Int, searchPath: String, tls: TLSConfiguration? = nil, role: Role? = nil) throws -> CreateWriterSettings {
        let pool = try configuration(host: host, port: port, searchPath: searchPath, role: role)
        return CreateWriterSettings(
            host: host, port: port, username: pool.username, password: pool.password, database: pool.database ?? "",
            runtimeParameters: [.init(name: "search_path", value: searchPath)], connectTimeout: pool.options.connectTimeout,
            tls: tls
        )
    }

    /// A login other than the stack's application role (e.g. one with only the API's grants).
    struct Role: Sendable {
        var name: String
        var password: String
        /// Runs as the superuser once the schema exists, before the API's clients connect.
        var setUp: @Sendable (_ schema: String) -> String
    }

    static func configuration(
        host: String, port: Int, searchPath: String?, tls: PostgresClient.Configuration.TLS = .disable, role: Role? = nil
    ) throws -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port,
            username: try role?.name ?? StackEnvironment.require("DATABASE_USERNAME"),
            password: role?.password ?? StackEnvironment.environment["DB_PASSWORD"],
            database: try StackEnvironment.require("DATABASE_DATABASE"),
            tls: tls
        )
        if let searchPath { configuration.options.additionalStartupParameters = [("search_path", searchPath)] }
        configuration.options.connectTimeout = .seconds(2)
        configuration.options.maximumConnections = 60
        return configuration
    }

    /// Creates the schema, runs `body` with both clients running, drops the schema afterwards.
    /// `tls` applies to `client` (the API's pool); the admin connection stays plain.
    static func with<T: Sendable>(
        host: String? = nil, port: Int? = nil, tls: PostgresClient.Configuration.TLS = .disable, writerTLS: TLSConfiguration? = nil,
        role: Role? = nil,
        _ body: @Sendable (TestDatabase) async throws -> T
    ) async throws -> T {
        let host = try host ?? StackEnvironment.require("DATABASE_HOST")
        guard let port = try port ?? Int(StackEnvironment.require("DATABASE_PORT")) else { throw StackEnvironment.Missing(variable: "DATABASE_PORT") }
        let schema = "api_test_\(UInt64.random(in: 0...UInt64.max) % 1_000_000_000_000)"
        let admin = PostgresClient(configuration: try configuration(host: host, port: port, searchPath: nil), backgroundLogger: logger)
        let client = PostgresClient(configuration: try configuration(host: host, port: port, searchPath: schema, tls: tls, role: role), backgroundLogger: logger)
        let database = TestDatabase(
            schema: schema, client: client, admin: admin,
            writerConnection: try writerSettings(host: host, port: port, searchPath: schema, tls: writerTLS, role: role)
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await admin.run() }
            defer { group.cancelAll() }
            try await database.createSchema(host: host, port: port)
            if let role { try await superuser(host: host, port: port, role.setUp(schema)) }
            group.addTask { await client.run() }
            do {
                let result = try await body(database)
                await database.cleanup.run()
                try? await database.dropSchema()
                return result
            } catch {
                await database.cleanup.run()
                try? await database.dropSchema()
                throw error
            }
        }
    }

    /// The tables of the project's real migrations (applied to `public` first, once per server),
    /// copied with their constraints, defaults and indexes into the private schema.
    private func createSchema(host: String, port: Int) async throws {
        try await MigratedServers.shared.ensureMigrated(host: host, port: port, using: admin)
        try await exec("CREATE SCHEMA \(schema)")
        for table in ["products", "outbox", "idempotency_keys"] {
            try await exec("CREATE TABLE \(schema).\(table) (LIKE public.\(table) INCLUDING ALL)")
        }
    }

    /// Runs `sql` as the stack's superuser (the stack trusts local connections).
    static func superuser(host: String, port: Int, _ sql: String) async throws {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: "postgres", password: nil, database: try StackEnvironment.require("DATABASE_DATABASE"), tls: .disable)
        configuration.options.maximumConnections = 1
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            for statement in sql.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }) where !statement.isEmpty {
                _ = try await client.query(PostgresQuery(unsafeSQL: statement), logger: logger).collect()
            }
        }
    }

    private func dropSchema() async throws {
        try await exec("DROP SCHEMA \(schema) CASCADE")
    }

    func exec(_ sql: String) async throws {
        _ = try await admin.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger).collect()
    }

    func count(_ table: String) async throws -> Int64 {
        let rows = try await admin.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(schema).\(table)"), logger: Self.logger)
        for try await value in rows.decode(Int64.self) { return value }
        return -1
    }

    /// The text of one column of one row (`SELECT <expression> FROM schema.table WHERE <condition>`).
    func text(_ expression: String, from table: String, where condition: String) async throws -> [String?] {
        let rows = try await admin.query(
            PostgresQuery(unsafeSQL: "SELECT (\(expression))::text FROM \(schema).\(table) WHERE \(condition)"), logger: Self.logger
        )
        var values: [String?] = []
        for try await value in rows.decode(String?.self) { values.append(value) }
        return values
    }
}

/// Runs the migrations in `sql/` once per Postgres server per test process (the migrator takes
/// an advisory lock, so parallel processes are safe too).
actor MigratedServers {
    static let shared = MigratedServers()
    private var done: [String: Task<Void, any Error>] = [:]

    static var sqlDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("sql")
    }

    func ensureMigrated(host: String, port: Int, using client: PostgresClient) async throws {
        let key = "\(host):\(port)"
        if let task = done[key] { return try await task.value }
        let task = Task {
            _ = try await Migrator(directory: Self.sqlDirectory, logger: TestDatabase.logger).migrate(using: client)
        }
        done[key] = task
        try await task.value
    }
}
