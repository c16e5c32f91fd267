import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The built daemons and the local stack, for tests that drive the system from outside: the
/// real `products-api` and `cdc-relay` executables, the stack's Postgres (through `psql`) and broker.
enum EndToEndStack {
    static let environment = ProcessInfo.processInfo.environment
    static var isAvailable: Bool { environment["PULSAR_URI"] != nil && environment["PGPORT"] != nil }
    static var isRequired: Bool { environment["OUTBOX_REQUIRE_STACK"] == "1" }
    static var shouldRun: Bool { isAvailable || isRequired }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `.build/debug/NAME`, or wherever `swift build` put the products for this test bundle.
    static func executable(_ name: String) throws -> URL {
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        for dir in [bundleDir, root.appendingPathComponent(".build/debug")] {
            let candidate = dir.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw EndToEndFailure("\(name) is not built: run `swift build` first")
    }

    /// Runs SQL as the stack's superuser and returns psql's unaligned output.
    @discardableResult
    static func psql(_ sql: String, database: String = "postgres") throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw EndToEndFailure("psql failed: \(text)") }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func freePort() -> Int { Int.random(in: 20_000...40_000) }

    /// Polls `url` until it answers 200 or the deadline passes.
    static func waitUntilHealthy(_ url: URL, timeout: Duration = .seconds(60), process: DaemonProcess) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !process.isRunning { throw EndToEndFailure("\(process.name) exited early:\n\(process.logTail())") }
            if let (_, response) = try? await URLSession.shared.data(from: url),
               (response as? HTTPURLResponse)?.statusCode == 200 { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw EndToEndFailure("\(url) not healthy within \(timeout):\n\(process.logTail())")
    }
}

struct EndToEndFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A daemon started from its built executable, its output in a log file, stopped by signal.
final class DaemonProcess: @unchecked Sendable {
    // Only touched from the test task that owns it.
    let name: String
    private let process = Process()
    private let logURL: URL

    init(_ name: String, arguments: [String], environment: [String: String]) throws {
        self.name = name
        logURL = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.executableURL = try EndToEndStack.executable(name)
        process.arguments = arguments
        process.environment = EndToEndStack.environment.merging(environment) { _, new in new }
        process.currentDirectoryURL = EndToEndStack.root
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    var isRunning: Bool { process.isRunning }

    /// Waits for a command that ends by itself (`migrate`, `check`); nil if it is still running.
    func waitForExit(timeout: Duration = .seconds(60)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        return process.isRunning ? nil : process.terminationStatus
    }

    func logTail(lines: Int = 40) -> String {
        let text = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Sends SIGTERM and waits; returns the exit status.
    func terminate(timeout: Duration = .seconds(40)) async -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(100)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return -9
        }
        return process.terminationStatus
    }
}
