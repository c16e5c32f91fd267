import API
import Foundation
import ArgumentParser
import HTTPServerLimits
import Hummingbird
import Logging
import NIOPosix
import OutboxCore
import PostgresNIO
import ServiceLifecycle

@main
struct ProductsAPICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "products-api",
        abstract: "The products HTTP API of outbox-relay.",
        subcommands: [Serve.self, Migrate.self],
        defaultSubcommand: Serve.self
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP API until SIGTERM/SIGINT (migrates first unless api.migrate_on_start is false).")

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let configuration = options.loadOrExit()
        Self.adoptEventLoopsAsGlobalExecutor(threads: configuration.server.eventLoopThreads)
        LoggingSystem.bootstrap { LineLogHandler(label: $0) }
        var logger = Logger(label: "products-api")
        logger.logLevel = configuration.log.level
        do {
            try await configuration.database.checkTLSAtStart(logger: logger)
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(78)
        }
        let clientConfiguration = try configuration.database.postgresClientConfiguration()
        let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
        let settings = ProductsAPISettings(configuration)

        if configuration.api.migrateOnStart {
            // The pool must run for the migrator to use it; stop it once migrations are done.
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { await client.run() }
                let report = try await Migrator(logger: logger).migrate(using: client)
                logger.info("migrations done", metadata: ["applied": "\(report.applied)", "already_applied": "\(report.alreadyApplied)"])
                group.cancelAll()
            }
        }
        let serveClient = PostgresClient(
            configuration: Self.servingPool(clientConfiguration, statementTimeout: settings.databaseTimeout), backgroundLogger: logger
        )
        let app = try ProductsAPI.makeApplication(
            settings: settings, client: serveClient,
            writerConnection: try Self.createWriterSettings(configuration.database), logger: logger
        )
        try await app.runService()
    }
}

extension Serve {
    /// The serving pool opens all its connections up front and keeps them, without keep-alive
    /// pings: the pool arms (and cancels) idle and keep-alive timers every time a connection goes
    /// back to it, which measured as a fifth of the API's CPU per create. A connection that died
    /// is noticed on its next use (the request gets 503 and the pool reconnects).
    /// Like the create writers' connections, they carry a `statement_timeout` of the API's
    /// database timeout, so a statement the API gave up on (503) is also ended by Postgres.
    static func servingPool(_ configuration: PostgresClient.Configuration, statementTimeout: Duration) -> PostgresClient.Configuration {
        var configuration = configuration
        configuration.options.additionalStartupParameters.append(("statement_timeout", "\(statementTimeout.positiveMilliseconds)"))
        configuration.options.minimumConnections = configuration.options.maximumConnections
        configuration.options.keepAliveBehavior = nil
        return configuration
    }

    /// The create writers' connections: plaintext for `disable`, TLS with the pool's verification
    /// for `require`, `verify-ca` and `verify-full`. Under `prefer` (TLS if the server offers it)
    /// there are none: creates run batched on the serving pool.
    static func createWriterSettings(_ database: OutboxConfiguration.Database) throws -> CreateWriterSettings? {
        guard database.sslMode != .prefer else { return nil }
        return CreateWriterSettings(
            host: database.host, port: database.port, username: database.username,
            password: database.password, database: database.database,
            tls: database.sslMode == .disable ? nil : try database.tlsConfiguration()
        )
    }

    /// Runs Swift Concurrency's global jobs on the NIO event loops (see ``EventLoopGlobalExecutor``).
    /// Done before anything touches the event loops.
    static func adoptEventLoopsAsGlobalExecutor(threads: Int) {
        if threads > 0 { NIOSingletons.groupLoopCountSuggestion = threads }
        EventLoopGlobalExecutor.install()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply the migrations in sql/ and exit.")

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let configuration = options.loadOrExit()
        LoggingSystem.bootstrap { LineLogHandler(label: $0) }
        var logger = Logger(label: "products-api")
        logger.logLevel = configuration.log.level
        let client = PostgresClient(configuration: try configuration.database.postgresClientConfiguration(), backgroundLogger: logger)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await client.run() }
            let report = try await Migrator(logger: logger).migrate(using: client)
            for name in report.applied { print("applied \(name)") }
            print("\(report.applied.count) applied, \(report.alreadyApplied.count) already applied")
            group.cancelAll()
        }
    }
}

extension ProductsAPISettings {
    init(_ configuration: OutboxConfiguration) {
        self.init(
            host: configuration.server.host,
            port: configuration.server.port,
            workerID: configuration.api.workerID,
            idempotencyKeyTTL: configuration.api.idempotencyKeyTTL,
            maxBodyBytes: configuration.api.maxBodyBytes,
            poolMaxConnections: configuration.database.poolSize,
            createBatchSize: configuration.api.createBatchSize,
            createBatchConcurrency: configuration.api.createBatchConcurrency,
            httpLimits: HTTPServerLimits(
                headerTimeout: configuration.server.headerTimeout, bodyTimeout: configuration.server.bodyTimeout,
                idleTimeout: configuration.server.idleTimeout, maxConnections: configuration.server.maxConnections,
                maxHeaderBytes: configuration.server.maxHeaderBytes
            ),
            outboxRetention: OutboxRetentionSettings(
                retention: configuration.outbox.retention, margin: configuration.outbox.retentionMargin,
                partitionInterval: configuration.outbox.partitionInterval
            )
        )
    }
}
