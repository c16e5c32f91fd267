import Foundation
import Testing

/// The local stack's coordinates (`scripts/stack env`). Integration suites run when it is there;
/// under `OUTBOX_REQUIRE_STACK=1` a missing stack fails them.
enum InboxTestStack {
    static let environment = ProcessInfo.processInfo.environment
    static var isAvailable: Bool { environment["PGPORT"] != nil && environment["PULSAR_URI"] != nil && environment["STACK_PYTHON"] != nil }
    static var isRequired: Bool { environment["OUTBOX_REQUIRE_STACK"] == "1" }
    static var shouldRun: Bool { isAvailable || isRequired }
    static var faultTestsEnabled: Bool { environment["REPL_FAULT_TESTS"] == "1" }

    static var pgHost: String { environment["PGHOST"] ?? "127.0.0.1" }
    static var pgPort: Int { Int(environment["PGPORT"] ?? "") ?? 5432 }
    static var pulsarURI: String { environment["PULSAR_URI"] ?? "pulsar://127.0.0.1:6650" }
    static var python: String { environment["STACK_PYTHON"] ?? "python3" }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func require() throws {
        guard isAvailable else { throw Failure("OUTBOX_REQUIRE_STACK=1 but the stack environment is missing: run via scripts/test") }
    }

    static func uniqueName(_ prefix: String) -> String { "\(prefix)_\(String(UInt32.random(in: 0...UInt32.max), radix: 36))" }

    /// Runs a program to completion, returning its output; throws unless it exits 0.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], input: String? = nil) throws -> String {
        let dir = FileManager.default.temporaryDirectory
        let token = UUID().uuidString
        let outputPath = dir.appendingPathComponent("inbox-run-\(token).out").path
        let inputPath = input.map { _ in dir.appendingPathComponent("inbox-run-\(token).in").path }
        defer {
            try? FileManager.default.removeItem(atPath: outputPath)
            if let inputPath { try? FileManager.default.removeItem(atPath: inputPath) }
        }
        if let input, let inputPath { try input.write(toFile: inputPath, atomically: false, encoding: .utf8) }
        let pid = try Spawn.start(executable, arguments, environment: ["PGOPTIONS": "-c client_min_messages=warning"], logPath: outputPath, inputPath: inputPath)
        let code = Spawn.exitCode(Spawn.waitBlocking(pid))
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard code == 0 else { throw Failure("\(executable) \(arguments.prefix(3).joined(separator: " ")) exited \(code): \(text.prefix(2000))") }
        return text
    }

    /// SQL through `psql` as the superuser (setup and checks only).
    @discardableResult
    static func sql(_ sql: String, database: String = "postgres") throws -> String {
        try run("/usr/bin/psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", pgHost, "-p", String(pgPort), "-U", "postgres", "-d", database, "-f", "-"], input: sql)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `scripts/stack --name NAME <command>` (broker-kill, broker-start, …).
    static func stack(_ command: String) async throws {
        guard let script = environment["STACK_SCRIPT"], let name = environment["STACK_NAME"] else {
            throw Failure("STACK_SCRIPT/STACK_NAME missing: run via scripts/test")
        }
        let code = Spawn.exitCode(await Spawn.wait(try Spawn.start(script, ["--name", name, command])))
        guard code == 0 else { throw Failure("stack \(command) exited \(code)") }
    }

    /// What the official client reads on `topic` (see read_topic.py).
    struct TopicSummary: Decodable {
        var messages: Int
        var event_ids: [String: Int]
        var props: [[String: String]]
    }

    static func readTopic(_ topic: String, atLeast: Int, timeoutSeconds: Int = 60) throws -> TopicSummary {
        let script = root.appendingPathComponent("Tests/InboxTests/Support/read_topic.py").path
        let output = try run(python, [script, pulsarURI, topic, String(atLeast), String(timeoutSeconds)])
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("{") }) else { throw Failure("read_topic.py printed no summary: \(output.suffix(1000))") }
        return try JSONDecoder().decode(TopicSummary.self, from: Data(line.utf8))
    }

    /// Polls `condition` until it holds or `timeout` passes; returns whether it held.
    static func waitUntil(timeout: Duration, every interval: Duration = .milliseconds(200), _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: interval)
        }
        return try await condition()
    }
}

@Suite struct InboxTestStackPresence {
    @Test func stackIsPresentWhenRequired() {
        if InboxTestStack.isRequired { #expect(InboxTestStack.isAvailable, "OUTBOX_REQUIRE_STACK=1 but the stack environment is missing") }
    }
}
