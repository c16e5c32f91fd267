import TestSupport
import Foundation
import HTTPServerLimits
import NIOCore
import NIOPosix
import Testing
@testable import API

/// The API's HTTP limits against the real server on a socket: slow heads and bodies, idle
/// kept-alive connections, large heads, the connection cap and the bind address.
@Suite(.enabled(if: StackEnvironment.shouldRun, "needs the local stack (scripts/stack env)"))
struct HTTPLimitsTests {
    /// Short timeouts so expiries are seen quickly; the idle timeout differs from the others so
    /// the tests can tell which one closed a connection.
    let limits = HTTPServerLimits(
        headerTimeout: .seconds(1), bodyTimeout: .seconds(1), idleTimeout: .seconds(2),
        maxConnections: 100, maxHeaderBytes: 4096, lingerTimeout: .seconds(1)
    )
    let live = "GET /health/live HTTP/1.1\r\nHost: api\r\n\r\n"

    @Test func halfAHeadIsAnswered408AndClosedWithinTheHeaderTimeout() async throws {
        try await TestDatabase.with { db in
            try await LiveServer.with(database: db, limits: limits) { port, _ in
                let connection = try await RawHTTPConnection.connect(port: port)
                try await connection.send("GET /health/live HTTP/1.1\r\nHost: api\r\nX-Slow: ")
                let closedAfter = try #require(await connection.closedAfter(atMost: .seconds(10)))
                #expect(connection.snapshot.status == 408)
                #expect(closedAfter >= .milliseconds(900))
                #expect(closedAfter < .milliseconds(2500))
            }
        }
    }

    @Test func aConnectionThatSendsNothingIsClosedWithinTheHeaderTimeout() async throws {
        try await TestDatabase.with { db in
            try await LiveServer.with(database: db, limits: limits) { port, _ in
                let connection = try await RawHTTPConnection.connect(port: port)
                let closedAfter = try #require(await connection.closedAfter(atMost: .seconds(10)))
                #expect(closedAfter >= .milliseconds(900))
                #expect(closedAfter < .milliseconds(2500))
            }
        }
    }

    @Test func aBodyThatStopsIsAnswered408() async throws {
        try await TestDatabase.with { db in
            try await LiveServer.with(database: db, limits: limits) { port, _ in
                let connection = try await RawHTTPConnection.connect(port: port)
                try await connection.send(
                    "POST /products HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"name\":"
                )
                let closedAfter = try #require(await connection.closedAfter(atMost: .seconds(10)))
                #expect(connection.snapshot.status == 408)
                #expect(closedAfter >= .milliseconds(900))
                #expect(closedAfter < .milliseconds(2500))
                #expect(try await db.count("products") == 0)
            }
        }
    }

    @Test func anIdleKeptAliveConnectionIsClosedAfterTheIdleTimeout() async throws {
        try await TestDatabase.with { db in
            try await LiveServer.with(database: db, limits: limits) { port, _ in
                let connection = try await RawHTTPConnection.connect(port: port)
                let answered = try #require(try await connection.request(live))
                #expect(answered.status == 200)
                let answeredAfter = ContinuousClock.now - connection.openedAt
                let closedAfter = try #require(await connection.closedAfter(atMost: .seconds(10)))
                let idle = closedAfter - answeredAfter
                #expect(idle >= .milliseconds(1800))
                #expect(idle < .milliseconds(3500))
                // Closed quietly: the one response is all that arrived.
                #expect(connection.snapshot.completeResponses == 1)
            }
        }
    }

    @Test func normalRequestsAreServedOnAKeptAliveConnection() async throws {
        try await TestDatabase.with { db in
            try await LiveServer.with(database: db, limits: limits) { port, _ in
                let connection = try await RawHTTPConnection.connect(port: port)
                let ready = try #require(try await connection.request("GET /health/ready HTTP/1.1\r\nHost: api\r\n\r\n"))
                #expect(ready.status == 200)
                let body = #"{"name":"Lamp","price":12.5,"stock":3,"category":"home"}"#
                let created = try #require(try await connection.request(
                    "POST /products HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                ))
                #expect(created.text.contains("HTTP/1.1 201"))
                #expect(created.completeResponses == 2)
                #expect(connection.snapshot.closedAt == nil)
                #expect(try await db.count("products") == 1)
            }
        }
    }

    @Test func aHeadOverTheLimitIsAnswered431AndOneUnderItIsServed() async throws {
        try await TestDatabase.with { db in
            try await LiveServer.with(database: db, limits: limits) { port, _ in
                let small = try await RawHTTPConnection.connect(port: port)
                let padding = String(repeating: "a", count: 3000)
                let served = try #require(try await small.request("GET /health/live HTTP/1.1\r\nHost: api\r\nX-Pad: \(padding)\r\n\r\n"))
                #expect(served.status == 200)

                let large = try await RawHTTPConnection.connect(port: port)
                let big = String(repeating: "b", count: 8192)
                try await large.send("GET /health/live HTTP/1.1\r\nHost: api\r\nX-Pad: \(big)\r\n\r\n")
                let closedAfter = await large.closedAfter(atMost: .seconds(10))
                #expect(closedAfter != nil)
                #expect(large.snapshot.status == 431)
            }
        }
    }

    @Test func connectionsOverTheCapAreAnswered503AndClosed() async throws {
        var capped = limits
        capped.maxConnections = 3
        capped.headerTimeout = .seconds(30)
        capped.idleTimeout = .seconds(30)
        try await TestDatabase.with { [capped, live] db in
            try await LiveServer.with(database: db, limits: capped) { port, _ in
                var held: [RawHTTPConnection] = []
                for _ in 0..<3 {
                    let connection = try await RawHTTPConnection.connect(port: port)
                    // Answered, so the server has counted it.
                    #expect(try await connection.request(live)?.status == 200)
                    held.append(connection)
                }
                let refused = try await RawHTTPConnection.connect(port: port)
                let closedAfter = await refused.closedAfter(atMost: .seconds(5))
                #expect(closedAfter != nil)
                #expect(refused.snapshot.status == 503)
                #expect(refused.snapshot.text.lowercased().contains("retry-after: 1"))

                // A freed slot is used again (the count drops once the server sees the close).
                await held[0].close()
                let deadline = ContinuousClock.now + .seconds(5)
                var servedAgain = false
                while !servedAgain, ContinuousClock.now < deadline {
                    // Until the server has seen the close, a new connection is refused (503 and
                    // closed), so writing to it may fail: that is a retry, not an error.
                    guard let next = try? await RawHTTPConnection.connect(port: port) else { continue }
                    servedAgain = (try? await next.request(live))??.status == 200
                    await next.close()
                }
                #expect(servedAgain)
                for connection in held { await connection.close() }
            }
        }
    }

    @Test func serverHostIsHonoured() async throws {
        try await TestDatabase.with { db in
            // Any 127/8 address is the loopback on Linux; 127.0.0.1 must then not be listening.
            try await LiveServer.with(database: db, limits: limits, host: "127.0.0.2") { [live] port, address in
                #expect(address?.ipAddress == "127.0.0.2")
                let connection = try await RawHTTPConnection.connect(host: "127.0.0.2", port: port)
                #expect(try await connection.request(live)?.status == 200)
                await #expect(throws: (any Error).self) {
                    _ = try await RawHTTPConnection.connect(host: "127.0.0.1", port: port)
                }
            }
        }
    }
}
