import Foundation
import Logging
import PostgresNIO
@testable import API

/// A private Postgres schema holding the base tables, so suites running in parallel never see
/// each other's rows (and a test may add triggers without affecting others). Connections of
/// `client` resolve unqualified table names to that schema through `search_path`.
struct TestDatabase: Sendable {
    let schema: String
    let client: PostgresClient
    let admin: PostgresClient
    static let logger = Logger(label: "api-tests")

    static func configuration(host: String, port: Int, searchPath: String?) throws -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port,
            username: try TestStack.require("DATABASE_USERNAME"),
            password: TestStack.environment["DB_PASSWORD"],
            database: try TestStack.require("DATABASE_DATABASE"),
            tls: .disable
        )
        if let searchPath { configuration.options.additionalStartupParameters = [("search_path", searchPath)] }
        configuration.options.connectTimeout = .seconds(2)
        configuration.options.maximumConnections = 60
        return configuration
    }

    /// Creates the schema, runs `body` with both clients running, drops the schema afterwards.
    static func with<T: Sendable>(
        host: String? = nil, port: Int? = nil,
        _ body: @Sendable (TestDatabase) async throws -> T
    ) async throws -> T {
        let host = try host ?? TestStack.require("DATABASE_HOST")
        guard let port = try port ?? Int(TestStack.require("DATABASE_PORT")) else { throw TestStack.Missing(variable: "DATABASE_PORT") }
        let schema = "api_test_\(UInt64.random(in: 0...UInt64.max) % 1_000_000_000_000)"
        let admin = PostgresClient(configuration: try configuration(host: host, port: port, searchPath: nil), backgroundLogger: logger)
        let client = PostgresClient(configuration: try configuration(host: host, port: port, searchPath: schema), backgroundLogger: logger)
        let database = TestDatabase(schema: schema, client: client, admin: admin)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await admin.run() }
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await database.createSchema()
            do {
                let result = try await body(database)
                try? await database.dropSchema()
                return result
            } catch {
                try? await database.dropSchema()
                throw error
            }
        }
    }

    /// The base schema of the design (sql/0001-0004), minus the publication.
    private func createSchema() async throws {
        try await exec("CREATE SCHEMA \(schema)")
        try await exec("""
            CREATE TABLE \(schema).products (id bigint PRIMARY KEY, name text NOT NULL, description text,
              price numeric(12,2) NOT NULL CHECK (price >= 0), stock integer NOT NULL CHECK (stock >= 0), category text,
              created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)
            """)
        try await exec("""
            CREATE TABLE \(schema).outbox (id bigint PRIMARY KEY, aggregate_type text NOT NULL, aggregate_id text NOT NULL,
              event_type text NOT NULL, payload jsonb NOT NULL, headers jsonb NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL DEFAULT now())
            """)
        try await exec("""
            CREATE TABLE \(schema).idempotency_keys (key text PRIMARY KEY, request_hash text NOT NULL, status_code integer,
              response_body text, resource_id bigint, created_at timestamptz NOT NULL DEFAULT now(), expires_at timestamptz NOT NULL)
            """)
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
