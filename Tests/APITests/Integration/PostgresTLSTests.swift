import TestSupport
import Foundation
import Logging
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOSSL
import OutboxCore
import PostgresNIO
import Testing
@testable import API

/// `database.ssl_mode` against the stack's Postgres, which serves TLS with a certificate of the
/// stack's own CA (`scripts/stack`): the libpq meaning of each mode on the API's pool.
@Suite(.serialized, .enabled(if: StackEnvironment.shouldRun), .timeLimit(.minutes(2)))
struct PostgresTLSTests {
    static func database(_ mode: DatabaseSSLMode, rootCert: String? = nil, host: String? = nil) throws -> OutboxConfiguration.Database {
        var database = OutboxConfiguration().database
        database.host = try host ?? StackEnvironment.require("DATABASE_HOST")
        database.port = Int(try StackEnvironment.require("DATABASE_PORT")) ?? 0
        database.username = try StackEnvironment.require("DATABASE_USERNAME")
        database.password = StackEnvironment.environment["DB_PASSWORD"]
        database.database = try StackEnvironment.require("DATABASE_DATABASE")
        database.sslMode = mode
        database.sslRootCert = rootCert
        return database
    }

    struct NoConnection: Error {}

    /// Whether a connection of this pool is encrypted; throws if it cannot connect (within 10 s).
    static func connectionIsEncrypted(_ database: OutboxConfiguration.Database) async throws -> Bool {
        var configuration = try database.postgresClientConfiguration()
        configuration.options.connectTimeout = .seconds(3)
        let client = PostgresClient(configuration: configuration)
        return try await withThrowingTaskGroup(of: Bool?.self) { group in
            group.addTask { await client.run(); return nil }
            group.addTask {
                try await Task.sleep(for: .seconds(10))
                throw NoConnection()
            }
            group.addTask {
                let rows = try await client.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                for try await ssl in rows.decode(Bool.self) { return ssl }
                return false
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let result { return result }
            }
            throw NoConnection()
        }
    }

    static var stackCA: String { StackEnvironment.environment["STACK_PG_CA"] ?? "" }

    /// A CA that did not sign the server's certificate: the client certificate is no CA at all.
    static var wrongCA: String { StackEnvironment.environment["STACK_PG_CLIENT_CERT"] ?? "" }

    @Test func verifyFullWithTheStacksCAIsEncryptedAndVerified() async throws {
        #expect(try await Self.connectionIsEncrypted(Self.database(.verifyFull, rootCert: Self.stackCA)))
        #expect(try await Self.connectionIsEncrypted(Self.database(.verifyFull, rootCert: Self.stackCA, host: "localhost")))
        #expect(try await Self.connectionIsEncrypted(Self.database(.verifyCA, rootCert: Self.stackCA)))
    }

    @Test func verifyModesRefuseAServerTheirCADidNotSign() async throws {
        await #expect(throws: (any Error).self) { try await Self.connectionIsEncrypted(Self.database(.verifyFull, rootCert: Self.wrongCA)) }
        await #expect(throws: (any Error).self) { try await Self.connectionIsEncrypted(Self.database(.verifyCA, rootCert: Self.wrongCA)) }
    }

    /// The stack's Postgres also listens on 127.0.0.2, a name its certificate does not carry.
    @Test func verifyFullRefusesAWrongHostNameWhereVerifyCAAcceptsIt() async throws {
        await #expect(throws: (any Error).self) {
            try await Self.connectionIsEncrypted(Self.database(.verifyFull, rootCert: Self.stackCA, host: "127.0.0.2"))
        }
        #expect(try await Self.connectionIsEncrypted(Self.database(.verifyCA, rootCert: Self.stackCA, host: "127.0.0.2")))
    }

    /// Both daemons check at start: one configuration error naming `database.ssl_mode`.
    @Test func startCheckNamesTheSSLModeForAWrongHostOrAnUntrustedCA() async throws {
        let logger = Logger(label: "tls-check")
        for (database, expected) in [
            (try Self.database(.verifyFull, rootCert: Self.stackCA, host: "127.0.0.2"), "host name"),
            (try Self.database(.verifyFull, rootCert: Self.wrongCA), "not trusted"),
            (try Self.database(.verifyCA, rootCert: Self.wrongCA), "not trusted"),
        ] {
            do {
                try await database.checkTLSAtStart(logger: logger)
                Issue.record("\(database.sslMode) to \(database.host) passed the start check")
            } catch {
                #expect(error.key == "database.ssl_mode")
                #expect(error.description.hasPrefix("configuration error: database.ssl_mode"))
                #expect(error.description.contains(expected), "\(error.description)")
                #expect(!error.description.contains("\n"))
            }
        }
        try await Self.database(.verifyFull, rootCert: Self.stackCA).checkTLSAtStart(logger: logger)
        try await Self.database(.require).checkTLSAtStart(logger: logger)
        var away = try Self.database(.verifyFull, rootCert: Self.stackCA)
        away.port = 1  // nothing listens: not a TLS problem, the daemons wait for the server
        try await away.checkTLSAtStart(logger: logger)
    }

    /// As in libpq: `require` encrypts without verifying, `disable` does not encrypt.
    @Test func requireEncryptsWithoutVerifyingAndDisableDoesNotEncrypt() async throws {
        #expect(try await Self.connectionIsEncrypted(Self.database(.require, rootCert: Self.wrongCA)))
        #expect(try await Self.connectionIsEncrypted(Self.database(.prefer)))
        #expect(try await Self.connectionIsEncrypted(Self.database(.disable)) == false)
    }

    @Test func certificateAndKeyMustComeTogether() throws {
        var database = try Self.database(.verifyFull, rootCert: Self.stackCA)
        database.sslCert = StackEnvironment.environment["STACK_PG_CLIENT_CERT"]
        #expect(throws: ConfigurationError.self) { try database.tlsConfiguration() }
        database.sslKey = StackEnvironment.environment["STACK_PG_CLIENT_KEY"]
        let tls = try database.tlsConfiguration()
        #expect(tls.certificateChain.count == 1)
        #expect(tls.certificateVerification == .fullVerification)
    }

    /// The create writers under `verify-full`: PostgresNIO's TLS start-up, then the writer's own
    /// pipelined statements on the encrypted channel.
    @Test func createWritersRunOverVerifyFull() async throws {
        let database = try Self.database(.verifyFull, rootCert: Self.stackCA)
        try await TestDatabase.with(writerTLS: try database.tlsConfiguration()) { db in
            let application = try TestApp.application(database: db)
            try await application.test(.router) { client in
                try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                    for index in 0..<50 {
                        group.addTask {
                            try await client.execute(
                                uri: "/products", method: .post, headers: TestApp.jsonHeaders,
                                body: TestApp.json(["name": "writer tls \(index)", "price": 2, "stock": 1])
                            ).status
                        }
                    }
                    for try await status in group { #expect(status == .created) }
                }
            }
            #expect(try await db.count("products") == 50)
            #expect(try await db.count("outbox") == 50)
            let rows = try await db.admin.query(
                "SELECT bool_and(s.ssl), count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'products-api-writer'")
            for try await (allEncrypted, count) in rows.decode((Bool?, Int64).self) {
                #expect(count > 0, "the creates went through writer connections")
                #expect(allEncrypted == true)
            }
        }
    }

    @Test func createWritersRefuseAServerTheirCADidNotSign() async throws {
        let database = try Self.database(.verifyFull, rootCert: Self.wrongCA)
        try await TestDatabase.with(writerTLS: try database.tlsConfiguration()) { db in
            let application = try TestApp.application(database: db, settings: TestApp.settings(databaseTimeout: .seconds(2)))
            try await application.test(.router) { client in
                let response = try await client.execute(
                    uri: "/products", method: .post, headers: TestApp.jsonHeaders, body: TestApp.json(["name": "x", "price": 2, "stock": 1]))
                #expect(response.status == .serviceUnavailable)
            }
            #expect(try await db.count("products") == 0)
        }
    }

    /// Creates under `verify-full` run on the pool (batched) and are answered after COMMIT.
    @Test func createsOverVerifyFullAreCommittedAndEncrypted() async throws {
        let tls = try Self.database(.verifyFull, rootCert: Self.stackCA).postgresClientConfiguration().tls
        try await TestDatabase.with(tls: tls) { db in
            let (application, _) = try TestApp.applicationAndStore(database: db, writers: false)
            try await application.test(.router) { client in
                try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                    for index in 0..<20 {
                        group.addTask {
                            try await client.execute(
                                uri: "/products", method: .post, headers: TestApp.jsonHeaders,
                                body: TestApp.json(["name": "tls \(index)", "price": 1, "stock": 1])
                            ).status
                        }
                    }
                    for try await status in group { #expect(status == .created) }
                }
            }
            #expect(try await db.count("products") == 20)
            #expect(try await db.count("outbox") == 20)
            let rows = try await db.client.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            for try await ssl in rows.decode(Bool.self) { #expect(ssl) }
        }
    }
}
