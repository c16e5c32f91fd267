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
@Suite(.serialized, .enabled(if: TestStack.shouldRun, "needs the local stack (scripts/stack env)"))
struct DatabaseOutageFaultTests {
    static let port = 54411

    /// Runs the stack script and waits for it with `waitpid` (Foundation's `Process` sometimes
    /// misses the exit of a script whose grandchild, the Postgres server, keeps running).
    func stack(_ command: String) throws {
        let script = try TestStack.require("STACK_SCRIPT")
        let name = try TestStack.require("STACK_NAME") + "-api-outage"
        var environment = ProcessInfo.processInfo.environment
        environment["STACK_PG_PORT"] = String(Self.port)
        let arguments = ["/bin/bash", script, "--name", name, command]
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/bash", nil, nil, argv, envp)
        guard spawned == 0 else { throw StackCommandFailed(command: command, status: spawned) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        // WIFEXITED && WEXITSTATUS == 0
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw StackCommandFailed(command: command, status: status)
        }
    }

    struct StackCommandFailed: Error { var command: String; var status: Int32 }

    @Test func postgresDownAnswers503AndTheAPIRecoversByItself() async throws {
        try stack("pg-start")
        defer { try? stack("pg-stop") }
        try await TestDatabase.with(host: "127.0.0.1", port: Self.port) { db in
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
