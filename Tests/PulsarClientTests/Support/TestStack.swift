#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// The local stack (scripts/stack) as seen from tests: broker URL, official-client python,
/// fault injection. Integration suites use `.enabled(if: TestStack.shouldRun)` and call
/// `TestStack.require()`, which fails (not skips) when OUTBOX_REQUIRE_STACK=1 and the env is missing.
enum TestStack {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }
    static var pulsarURL: String? { environment["PULSAR_URI"].flatMap { $0.isEmpty ? nil : $0 } }
    static var isAvailable: Bool { pulsarURL != nil }
    static var isRequired: Bool { environment["OUTBOX_REQUIRE_STACK"] == "1" }
    static var shouldRun: Bool { isAvailable || isRequired }

    struct Missing: Error, CustomStringConvertible {
        var variable: String
        var description: String { "integration test needs \(variable) (eval \"$(scripts/stack --name NAME env)\")" }
    }

    static func require() throws -> String {
        guard let url = pulsarURL else { throw Missing(variable: "PULSAR_URI") }
        return url
    }

    static func python() throws -> String {
        guard let python = environment["STACK_PYTHON"], !python.isEmpty else { throw Missing(variable: "STACK_PYTHON") }
        return python
    }

    /// `persistent://public/default/<prefix>-<random>`: every test run gets fresh topics.
    static func uniqueTopic(_ prefix: String) -> String {
        "persistent://public/default/\(prefix)-\(UInt64.random(in: 0...UInt64.max))"
    }

    /// Runs `scripts/stack --name $STACK_NAME <command>` (broker-kill, broker-start...).
    static func stack(_ command: String) throws {
        guard let script = environment["STACK_SCRIPT"], let name = environment["STACK_NAME"] else {
            throw Missing(variable: "STACK_SCRIPT / STACK_NAME")
        }
        let result = try run(script, ["--name", name, command])
        guard result.status == 0 else {
            throw CommandFailed(command: "stack \(command)", status: result.status, output: result.output)
        }
    }

    struct CommandFailed: Error, CustomStringConvertible {
        var command: String
        var status: Int32
        var output: String
        var description: String { "\(command) exited with \(status): \(output.suffix(2000))" }
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.standardError
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    struct Consumed: Decodable {
        var seqs: [Int]
        var ids: Int
        var producers: [String]
    }

    /// Reads `topic` from the beginning with the official Python client.
    static func consumeWithOfficialClient(topic: String, expected: Int, timeoutSeconds: Int = 120) throws -> Consumed {
        let url = try require()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("pulsar_consume.py").path
        let result = try run(try python(), [script, url, topic, String(expected), String(timeoutSeconds)])
        guard result.status == 0 else {
            throw CommandFailed(command: "pulsar_consume.py", status: result.status, output: result.output)
        }
        return try JSONDecoder().decode(Consumed.self, from: Data(result.output.utf8))
    }
}
