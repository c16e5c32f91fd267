// TEMPORARY stand-in for the OutboxCore contract (configuration + migrator) until the foundation
// lands on main; delete this file when merging it. Environment variables and `--set` only.
import ArgumentParser
import Logging
import PostgresNIO

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct OutboxConfiguration: Sendable {
    struct Server: Sendable { var host = "0.0.0.0"; var port = 3000 }
    struct Database: Sendable {
        var host = "127.0.0.1"; var port = 5432; var username = "app"; var password: String? = nil
        var database = "app"; var poolSize = 20
        func postgresClientConfiguration() -> PostgresClient.Configuration {
            var configuration = PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: .disable)
            configuration.options.maximumConnections = poolSize
            configuration.options.connectTimeout = .seconds(2)
            return configuration
        }
    }
    struct APISettings: Sendable { var workerID = 0; var idempotencyKeyTTL: Duration = .seconds(86_400); var maxBodyBytes = 65_536; var migrateOnStart = true }
    struct LogSettings: Sendable { var level: Logger.Level = .info }
    var server = Server()
    var database = Database()
    var api = APISettings()
    var log = LogSettings()
}

struct StandInConfigurationError: Error, CustomStringConvertible {
    var key: String
    var value: String
    var description: String { "invalid value '\(value)' for \(key)" }
}

struct ConfigurationOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (not supported by the stand-in).") var config: String?
    @Option(name: .customLong("set"), help: "Override a key: --set database.port=5433") var overrides: [String] = []

    func load() throws -> OutboxConfiguration {
        var values: [String: String] = [:]
        let env = ProcessInfo.processInfo.environment
        let mapping = [
            "SERVER_HOST": "server.host", "SERVER_PORT": "server.port", "DATABASE_HOST": "database.host",
            "DATABASE_PORT": "database.port", "DATABASE_USERNAME": "database.username", "DB_PASSWORD": "database.password",
            "DATABASE_DATABASE": "database.database", "DATABASE_POOL_SIZE": "database.pool_size", "API_WORKER_ID": "api.worker_id",
            "API_MIGRATE_ON_START": "api.migrate_on_start", "LOG_LEVEL": "log.level",
        ]
        for (variable, key) in mapping { if let value = env[variable] { values[key] = value } }
        for item in overrides {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw StandInConfigurationError(key: item, value: "") }
            values[parts[0]] = parts[1]
        }
        var c = OutboxConfiguration()
        func int(_ key: String) throws -> Int? {
            guard let raw = values[key] else { return nil }
            guard let value = Int(raw) else { throw StandInConfigurationError(key: key, value: raw) }
            return value
        }
        if let v = values["server.host"] { c.server.host = v }
        if let v = try int("server.port") { c.server.port = v }
        if let v = values["database.host"] { c.database.host = v }
        if let v = try int("database.port") { c.database.port = v }
        if let v = values["database.username"] { c.database.username = v }
        if let v = values["database.password"] { c.database.password = v }
        if let v = values["database.database"] { c.database.database = v }
        if let v = try int("database.pool_size") { c.database.poolSize = v }
        if let v = try int("api.worker_id") { c.api.workerID = v }
        if let v = values["api.migrate_on_start"] { c.api.migrateOnStart = v == "true" }
        if let v = values["log.level"] {
            guard let level = Logger.Level(rawValue: v) else { throw StandInConfigurationError(key: "log.level", value: v) }
            c.log.level = level
        }
        return c
    }
}

struct MigrationReport: Sendable { var applied: [String]; var alreadyApplied: [String] }

/// Creates the base schema of the design (what sql/0001-0004 will hold) if it is missing.
struct Migrator {
    let logger: Logger
    init(logger: Logger) { self.logger = logger }

    func migrate(using client: PostgresClient) async throws -> MigrationReport {
        let statements: [PostgresQuery] = [
            """
            CREATE TABLE IF NOT EXISTS products (id bigint PRIMARY KEY, name text NOT NULL, description text,
              price numeric(12,2) NOT NULL CHECK (price >= 0), stock integer NOT NULL CHECK (stock >= 0), category text,
              created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)
            """,
            """
            CREATE TABLE IF NOT EXISTS outbox (id bigint PRIMARY KEY, aggregate_type text NOT NULL, aggregate_id text NOT NULL,
              event_type text NOT NULL, payload jsonb NOT NULL, headers jsonb NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL DEFAULT now())
            """,
            """
            CREATE TABLE IF NOT EXISTS idempotency_keys (key text PRIMARY KEY, request_hash text NOT NULL, status_code integer,
              response_body text, resource_id bigint, created_at timestamptz NOT NULL DEFAULT now(), expires_at timestamptz NOT NULL)
            """,
        ]
        for statement in statements { _ = try await client.query(statement, logger: logger).collect() }
        return MigrationReport(applied: ["stand-in base schema"], alreadyApplied: [])
    }
}
