import TestSupport
import Foundation
import HTTPServerLimits
import Hummingbird
import NIOCore
import PostgresNIO
import ServiceLifecycle
@testable import API

/// The full API application (with its HTTP limits) listening on a real socket, for tests that
/// need more than the router: timeouts, connection caps, bind addresses.
enum LiveServer {
    struct NotListening: Error, CustomStringConvertible {
        var description: String { "the API server did not report a listening port" }
    }

    /// Runs the API on `host` and an ephemeral port while `body` runs; `body` gets the port and
    /// the listening address.
    static func with<T: Sendable>(
        database: TestDatabase, limits: HTTPServerLimits, host: String = "127.0.0.1",
        _ body: @Sendable (_ port: Int, _ address: SocketAddress?) async throws -> T
    ) async throws -> T {
        let databaseHost = try StackEnvironment.require("DATABASE_HOST")
        guard let databasePort = Int(try StackEnvironment.require("DATABASE_PORT")) else { throw StackEnvironment.Missing(variable: "DATABASE_PORT") }
        let client = PostgresClient(
            configuration: try TestDatabase.configuration(host: databaseHost, port: databasePort, searchPath: database.schema),
            backgroundLogger: TestDatabase.logger
        )
        var settings = TestApp.settings()
        settings.host = host
        settings.httpLimits = limits
        let (addresses, continuation) = AsyncStream.makeStream(of: SocketAddress?.self)
        let app = try ProductsAPI.makeApplication(
            settings: settings, client: client, writerConnection: database.writerConnection, logger: TestDatabase.logger,
            onServerRunning: { channel in
                continuation.yield(channel.localAddress)
                continuation.finish()
            }
        )
        // Shut down gracefully afterwards, as SIGTERM would (cancelling logs errors).
        let services = ServiceGroup(configuration: .init(services: [app], logger: TestDatabase.logger))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            defer { group.cancelAll() }
            var iterator = addresses.makeAsyncIterator()
            guard let address = await iterator.next(), let port = address?.port else { throw NotListening() }
            let result = try await body(port, address)
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
            return result
        }
    }
}
