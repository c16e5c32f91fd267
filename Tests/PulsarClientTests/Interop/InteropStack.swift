import NIOConcurrencyHelpers
import NIOCore
import Testing
@testable import PulsarClient

#if canImport(FoundationEssentials)
import Foundation
#else
import Foundation
#endif

/// The local stack as seen by the interop, consumer-integration and TLS suites
/// (`eval "$(scripts/stack --name X env)"`). With `OUTBOX_REQUIRE_STACK=1` a missing stack is a
/// failure, otherwise those suites are skipped.
enum InteropStack {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }
    static var pulsarURL: String? { environment["PULSAR_URI"].flatMap { $0.isEmpty ? nil : $0 } }
    static var python: String? { environment["STACK_PYTHON"].flatMap { $0.isEmpty ? nil : $0 } }
    static var isRequired: Bool { environment["OUTBOX_REQUIRE_STACK"] == "1" }
    /// Run the suites when the stack is there, or when it must be (they then fail loudly).
    static var shouldRun: Bool { (pulsarURL != nil && python != nil) || isRequired }

    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    static func requireURL() throws -> String {
        guard let pulsarURL else {
            throw Missing(description: "PULSAR_URI is not set: run `eval \"$(scripts/stack --name NAME env)\"` after `scripts/stack --name NAME up`")
        }
        return pulsarURL
    }

    static func requirePython() throws -> String {
        guard let python, FileManager.default.isExecutableFile(atPath: python) else {
            throw Missing(description: "STACK_PYTHON is not set or not executable (the stack's venv with pulsar-client)")
        }
        return python
    }

    static func uniqueTopic(_ prefix: String) -> String {
        "persistent://public/default/\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    static func makeClient(url: String? = nil, configure: (inout PulsarClientConfiguration) -> Void = { _ in }) throws -> PulsarClient {
        var configuration = PulsarClientConfiguration(serviceURL: try url ?? requireURL())
        configuration.operationTimeout = .seconds(15)
        configure(&configuration)
        return PulsarClient(configuration: configuration)
    }

    /// A file next to this one (the Python helpers).
    static func helperPath(_ name: String, filePath: String = #filePath) -> String {
        URL(fileURLWithPath: filePath).deletingLastPathComponent().appendingPathComponent(name).path
    }
}

/// Runs a helper process without blocking a cooperative thread, with a hard timeout.
enum HelperProcess {
    struct Output: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
        /// Only the JSON lines (helpers print nothing else on stdout, but be robust to stray logs).
        var lines: [String] { stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix("{") } }
    }

    struct TimedOut: Error, CustomStringConvertible {
        var description: String
    }

    static func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(120)) async throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("helper-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("out")
        let errURL = directory.appendingPathComponent("err")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = err
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { process in continuation.resume(returning: process.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
                return
            }
            let pid = process.processIdentifier
            Task {
                try? await Task.sleep(for: timeout)
                if process.isRunning, process.processIdentifier == pid { process.terminate() }
            }
        }
        try? out.close()
        try? err.close()
        let stdout = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        if status == 15 || status == 9 {
            throw TimedOut(description: "\(executable) \(arguments.joined(separator: " ")) timed out; stderr: \(stderr)")
        }
        return Output(status: status, stdout: stdout, stderr: stderr)
    }
}

/// Receives with a deadline so a missing message fails the test instead of hanging it.
enum ReceiveHelper {
    struct Timeout: Error, CustomStringConvertible {
        var received: Int
        var description: String { "timed out after receiving \(received) messages" }
    }

    /// Collects messages until `count` distinct ids were seen (pulsar-lite may redeliver), acking each.
    static func receiveDistinct(
        _ consumer: PulsarConsumer,
        count: Int,
        timeout: Duration = .seconds(60),
        acknowledge: Bool = true
    ) async throws -> [PulsarMessage] {
        let progress = NIOLockedValueBox(0)
        return try await withThrowingTaskGroup(of: [PulsarMessage]?.self) { group in
            group.addTask {
                var seen = Set<PulsarMessageID>()
                var messages: [PulsarMessage] = []
                while seen.count < count {
                    guard let message = try await consumer.receive() else { break }
                    if acknowledge { try await consumer.acknowledge(message.id) }
                    if seen.insert(message.id).inserted {
                        messages.append(message)
                        progress.withLockedValue { $0 = messages.count }
                    }
                }
                return messages
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            guard let first = try await group.next(), let messages = first else {
                group.cancelAll()
                throw Timeout(received: progress.withLockedValue { $0 })
            }
            group.cancelAll()
            return messages
        }
    }
}
