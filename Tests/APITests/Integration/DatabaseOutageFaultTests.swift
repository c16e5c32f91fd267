import TestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import API

/// Postgres goes away and comes back while the API keeps running: 503 + Retry-After while it is
/// down, 201 again once it is up, without rebuilding anything.
///
/// Stopping the stack's shared Postgres would break every other suite running in parallel (this
/// target's and other targets'), so this suite stops and starts a second, private Postgres
/// instance managed by the same stack script (`<stack>-api-outage`, own port and data dir). The
/// `FaultTests` suffix still puts it in scripts/test's one-at-a-time phase.
@Suite(.serialized, .enabled(if: StackEnvironment.shouldRun, "needs the local stack (scripts/stack env)"))
struct DatabaseOutageFaultTests {
    let postgres = PrivatePostgres(suffix: "api-outage", port: 54411)

    func stack(_ command: String) throws { try postgres.stack(command) }

    @Test func postgresDownAnswers503AndTheAPIRecoversByItself() async throws {
        try stack("pg-start")
        defer { try? stack("pg-stop") }
        try await TestDatabase.with(host: "127.0.0.1", port: postgres.port) { db in
            let settings = TestApp.settings(databaseTimeout: .seconds(2))
            try await TestApp.application(database: db, settings: settings).test(.router) { client in
                let body = ByteBuffer(string: #"{"name":"outage","price":3.5,"stock":1}"#)
                let before = try await client.execute(uri: "/products", method: .post, headers: TestApp.jsonHeaders, body: body)
                #expect(before.status == .created)

                try stack("pg-stop")
                let started = ContinuousClock.now
                let during = try await client.execute(uri: "/products", method: .post, headers: TestApp.jsonHeaders, body: body)
                #expect(during.status == .serviceUnavailable)
                #expect(during.headers[.retryAfter] == "2")
                #expect(during.headers[.contentType] == "application/problem+json")
                #expect(ContinuousClock.now - started < .seconds(10))
                let get = try await client.execute(uri: "/products", method: .get)
                #expect(get.status == .serviceUnavailable)
                let ready = try await client.execute(uri: "/health/ready", method: .get)
                #expect(ready.status == .serviceUnavailable)
                #expect(try await client.execute(uri: "/health/live", method: .get).status == .ok)

                try stack("pg-start")
                var recovered: HTTPResponse.Status = .serviceUnavailable
                let deadline = ContinuousClock.now + .seconds(30)
                while ContinuousClock.now < deadline {
                    let response = try await client.execute(uri: "/products", method: .post, headers: TestApp.jsonHeaders, body: body)
                    recovered = response.status
                    if recovered == .created { break }
                    #expect(recovered == .serviceUnavailable)
                    try await Task.sleep(for: .milliseconds(250))
                }
                #expect(recovered == .created)
                #expect(try await client.execute(uri: "/health/ready", method: .get).status == .ok)
                #expect(try await db.count("products") == 2)
                #expect(try await db.count("outbox") == 2)
            }
        }
    }
}
