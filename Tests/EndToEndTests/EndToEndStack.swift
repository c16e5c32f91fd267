import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The built daemons on the local stack, for tests that drive the system from outside: the real
/// `products-api` and `cdc-relay` executables, the stack's Postgres (through `SQL`) and broker.
enum EndToEndStack {
    /// Polls `url` until it answers 200 or the deadline passes.
    static func waitUntilHealthy(_ url: URL, timeout: Duration = .seconds(60), process: DaemonProcess) async throws {
        var exited = false
        let healthy = await waitUntilAsync(timeout: timeout, interval: .milliseconds(200)) {
            guard process.isRunning else {
                exited = true
                return true
            }
            guard let (_, response) = try? await URLSession.shared.data(from: url) else { return false }
            return (response as? HTTPURLResponse)?.statusCode == 200
        }
        if exited { throw EndToEndFailure("\(process.name) exited early:\n\(process.logTail())") }
        guard healthy else { throw EndToEndFailure("\(url) not healthy within \(timeout):\n\(process.logTail())") }
    }
}

struct EndToEndFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A daemon started from its built executable, its output in a log file, stopped by signal.
final class DaemonProcess: Sendable {
    let name: String
    private let pid: pid_t
    private let logPath: String
    /// Reaps the child once it exits; its wait status.
    private let exit: Task<Int32, Never>

    init(_ name: String, arguments: [String], environment: [String: String]) throws {
        self.name = name
        logPath = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString).log").path
        let pid = try Spawn.start(
            try StackEnvironment.executable(name), arguments, environment: environment, logPath: logPath,
            directory: StackEnvironment.repositoryRoot.path)
        self.pid = pid
        exit = Task { await Spawn.wait(pid) }
    }

    var isRunning: Bool { Spawn.isRunning(pid) }

    /// Waits for a command that ends by itself (`migrate`, `check`); nil if it is still running.
    func waitForExit(timeout: Duration = .seconds(60)) async -> Int32? {
        guard await waitUntil(timeout: timeout, { !isRunning }) else { return nil }
        return Spawn.exitCode(await exit.value)
    }

    func logTail(lines: Int = 40) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Sends SIGTERM and waits; returns the exit status (-9 when it had to be killed).
    func terminate(timeout: Duration = .seconds(40)) async -> Int32 {
        if isRunning { kill(pid, SIGTERM) }
        if await !waitUntil(timeout: timeout, { !isRunning }) {
            kill(pid, SIGKILL)
            _ = await exit.value
            return -9
        }
        return Spawn.exitCode(await exit.value)
    }
}
