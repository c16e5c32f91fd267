import Foundation
import Testing
@testable import CDCRelay
import TestSupport

/// Stops the stack's Postgres mid-stream, so it is opt-in (REPL_FAULT_TESTS=1): other suites
/// sharing the stack would fail meanwhile. The always-on variant kills only our walsender.
@Suite(
    "replication session when Postgres stops",
    .serialized,
    .enabled(if: StackEnvironment.isAvailable && ProcessInfo.processInfo.environment["REPL_FAULT_TESTS"] == "1"),
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

    /// `scripts/stack <command>`: its exit code (-1 when it could not run).
    private func stack(_ command: String) async -> Int32 {
        do {
            try await StackEnvironment.stack(command)
            return 0
        } catch {
            return -1
        }
    }
}
