import Foundation
import TestSupport
import Testing

/// The local stack's coordinates (`scripts/stack env`). Integration suites run when it is there;
/// under `OUTBOX_REQUIRE_STACK=1` a missing stack fails them.
enum InboxTestStack {
    static var isAvailable: Bool { StackEnvironment.isAvailable }
    static var isRequired: Bool { StackEnvironment.isRequired }
    static var shouldRun: Bool { StackEnvironment.shouldRun }
    static var faultTestsEnabled: Bool { StackEnvironment.environment["REPL_FAULT_TESTS"] == "1" }
    static var pgHost: String { StackEnvironment.pgHost }
    static var pgPort: Int { StackEnvironment.pgPort }
    static var pulsarURI: String { StackEnvironment.pulsarURI }
    static var python: String { StackEnvironment.python }
    static var root: URL { StackEnvironment.repositoryRoot }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func require() throws { try StackEnvironment.requireStack() }

    static func uniqueName(_ prefix: String) -> String { StackEnvironment.uniqueName(prefix) }

    /// SQL through `psql` as the superuser (setup and checks only).
    @discardableResult
    static func sql(_ sql: String, database: String = "postgres") throws -> String {
        try SQL.run(sql, database: database)
    }

    /// `scripts/stack --name NAME <command>` (broker-kill, broker-start, …).
    static func stack(_ command: String) async throws { try await StackEnvironment.stack(command) }

    /// What the official client reads on `topic` (see read_topic.py).
    struct TopicSummary: Decodable {
        var messages: Int
        var event_ids: [String: Int]
        var props: [[String: String]]
    }

    static func readTopic(_ topic: String, atLeast: Int, timeoutSeconds: Int = 60) throws -> TopicSummary {
        let script = root.appendingPathComponent("Tests/InboxTests/Support/read_topic.py").path
        let result = try Spawn.outputBlocking(python, [script, pulsarURI, topic, String(atLeast), String(timeoutSeconds)])
        guard result.code == 0 else { throw Failure("read_topic.py exited \(result.code): \(result.output.suffix(2000))") }
        guard let line = result.output.split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
            throw Failure("read_topic.py printed no summary: \(result.output.suffix(1000))")
        }
        return try JSONDecoder().decode(TopicSummary.self, from: Data(line.utf8))
    }

    /// Polls `condition` until it holds or `timeout` passes; returns whether it held.
    static func waitUntil(timeout: Duration, _ condition: () async throws -> Bool) async rethrows -> Bool {
        try await waitUntilAsync(timeout: timeout, interval: .milliseconds(200), condition)
    }
}

@Suite struct InboxTestStackPresence {
    @Test func stackIsPresentWhenRequired() {
        if InboxTestStack.isRequired { #expect(InboxTestStack.isAvailable, "OUTBOX_REQUIRE_STACK=1 but the stack environment is missing") }
    }
}
