import Foundation
import Testing
@testable import CDCRelay

/// Stops the stack's Postgres mid-stream, so it is opt-in (REPL_FAULT_TESTS=1): other suites
/// sharing the stack would fail meanwhile. The always-on variant kills only our walsender.
@Suite(
    "replication session when Postgres stops",
    .serialized,
    .enabled(if: ReplicationTestStack.isAvailable && ProcessInfo.processInfo.environment["REPL_FAULT_TESTS"] == "1"),
    .timeLimit(.minutes(3))
)
struct PostgresStopFaultTests {
    @Test func streamEndsWithATypedErrorWhenPostgresStops() async throws {
        let fixture = try ReplicationFixture()
        let session = ReplicationSession(configuration: try fixture.configuration(), logger: ReplicationTestStack.logger)
        _ = try await fixture.bootstrap()
        let stream = try await session.startReplication()
        try fixture.insert([1])
        var iterator = stream.makeAsyncIterator()
        var decoder = PGOutputDecoder(protocolVersion: 1)
        let messages = try await collectTransactions(commits: 1, from: &iterator, decoder: &decoder)
        #expect(messages.contains { if case .insert = $0 { true } else { false } })

        // Stop Postgres while reading on, answering keepalives as the relay does: a walsender
        // in shutdown waits for the client to confirm everything it sent before it ends the stream.
        let started = ContinuousClock.now
        async let stopped: Int32 = stack("pg-stop")
        let error = await #expect(throws: ReplicationError.self) {
            while let message = try await iterator.next() {
                if case .keepalive(let keepalive) = message, keepalive.replyRequested {
                    try session.sendStatus(StandbyStatusUpdate(confirming: keepalive.walEnd))
                }
            }
        }
        let elapsed = ContinuousClock.now - started
        #expect(error.map { [.connectionLost, .copyEnded].contains($0.code) } == true, "\(String(describing: error))")
        #expect(elapsed < .seconds(30), "the stream took \(elapsed) to end")
        #expect(await stopped == 0)
        await session.close()
        #expect(await stack("pg-start") == 0)
        await fixture.cleanUp()
    }

    /// Runs the stack script on its own thread (waitpid blocks) and returns its exit status.
    private func stack(_ command: String) async -> Int32 {
        guard let script = ReplicationTestStack.environment["STACK_SCRIPT"],
              let name = ReplicationTestStack.environment["STACK_NAME"]
        else { return -1 }
        return await withCheckedContinuation { continuation in
            let thread = Thread {
                let arguments = [script, "--name", name, command]
                var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
                defer { cArguments.forEach { free($0) } }
                var pid: pid_t = 0
                guard posix_spawn(&pid, script, nil, nil, &cArguments, environ) == 0 else {
                    continuation.resume(returning: -1)
                    return
                }
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                continuation.resume(returning: status)
            }
            thread.start()
        }
    }
}
