import TestSupport
import CDCRelay
import Foundation
import Logging
import NIOCore
import OutboxCore
import ServiceLifecycle
import Testing

/// The relay's metrics and health server: loopback by default, and the fixed limits for slow
/// clients and connections (64 connections, 10 s to send a head). Needs no stack.
struct ObservabilityServerLimitsTests {
    let live = "GET /health/live HTTP/1.1\r\nHost: relay\r\n\r\n"

    struct NotListening: Error {}

    /// Runs the server as `RelayApplication` wires it (host from the configuration) on an
    /// ephemeral port while `body` runs.
    func withServer<T: Sendable>(
        configuration: OutboxConfiguration = OutboxConfiguration(),
        _ body: @Sendable (_ port: Int, _ address: SocketAddress?) async throws -> T
    ) async throws -> T {
        let (addresses, continuation) = AsyncStream.makeStream(of: SocketAddress?.self)
        let server = ObservabilityServer.make(
            host: configuration.relay.metricsHost, port: 0, metrics: RelayMetrics(), health: HealthState(),
            logger: Logger(label: "observability-test"),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress)
                continuation.finish()
            }
        )
        // Shut down gracefully afterwards, as SIGTERM would (cancelling logs errors).
        let services = ServiceGroup(configuration: .init(services: [server], logger: Logger(label: "observability-test")))
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

    @Test func metricsHostDefaultsToLoopbackAndMapsToItsEnvironmentVariable() async throws {
        #expect(OutboxConfiguration().relay.metricsHost == "127.0.0.1")
        #expect(ConfigurationKey.named("relay.metrics_host")?.environmentName == "RELAY_METRICS_HOST")
        try await withServer { [live] port, address in
            #expect(address?.ipAddress == "127.0.0.1")
            let connection = try await RawHTTPConnection.connect(port: port)
            #expect(try await connection.request(live)?.status == 200)
        }
    }

    @Test func metricsHostIsHonoured() async throws {
        var configuration = OutboxConfiguration()
        configuration.relay.metricsHost = "127.0.0.2"
        try await withServer(configuration: configuration) { [live] port, address in
            #expect(address?.ipAddress == "127.0.0.2")
            let connection = try await RawHTTPConnection.connect(host: "127.0.0.2", port: port)
            #expect(try await connection.request(live)?.status == 200)
        }
    }

    @Test func halfAHeadIsAnswered408WithinTheFixedHeaderTimeout() async throws {
        try await withServer { port, _ in
            let connection = try await RawHTTPConnection.connect(port: port)
            try await connection.send("GET /metrics HTTP/1.1\r\nHost: relay\r\nX-Slow: ")
            let closedAfter = try #require(await connection.closedAfter(atMost: .seconds(20)))
            #expect(connection.snapshot.status == 408)
            #expect(closedAfter >= .milliseconds(9900))
            #expect(closedAfter < .milliseconds(12_500))
        }
    }

    @Test func the65thConnectionIsAnswered503() async throws {
        try await withServer { [live] port, _ in
            var held: [RawHTTPConnection] = []
            for _ in 0..<64 {
                let connection = try await RawHTTPConnection.connect(port: port)
                #expect(try await connection.request(live)?.status == 200)
                held.append(connection)
            }
            let refused = try await RawHTTPConnection.connect(port: port)
            #expect(await refused.closedAfter(atMost: .seconds(5)) != nil)
            #expect(refused.snapshot.status == 503)
            for connection in held { await connection.close() }
        }
    }
}
