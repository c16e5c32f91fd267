import NIOCore
import NIOPosix
import Testing
import TestSupport

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A long-running helper (pulsar-lite, stunnel) started with `posix_spawn` as a direct child of the
/// test process and stopped by its PID. Foundation's `Process.waitUntilExit` is avoided on purpose:
/// it spins a run loop on a cooperative thread, and a few of those stall the whole test process.
final class BackgroundProcess: Sendable {
    let name: String
    let pid: pid_t

    /// Starts `executable` with stdout/stderr appended to `logFile`, then waits until every port
    /// in `ports` accepts TCP connections on 127.0.0.1.
    init(name: String, executable: String, arguments: [String], logFile: URL, ports: [Int], timeout: Duration = .seconds(30)) async throws {
        self.name = name
        do {
            self.pid = try Spawn.start(executable, arguments, logPath: logFile.path)
        } catch {
            throw Spawn.Failure(description: "cannot start \(name) (\(executable)): \(error)")
        }
        let deadline = ContinuousClock.now + timeout
        for port in ports {
            let listening = await waitUntilAsync(timeout: deadline - ContinuousClock.now, interval: .milliseconds(100)) {
                guard isRunning else { return true }
                return await Self.accepts(port: port)
            }
            guard listening, isRunning else {
                await stop()
                let output = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
                throw Spawn.Failure(description: "\(name) did not listen on \(port): \(output.suffix(2000))")
            }
        }
    }

    /// Whether the child is still alive (reaps it once it exited).
    var isRunning: Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }

    /// SIGKILL (a crash, for the broker) or SIGTERM, then waits until the process is gone.
    func stop(kill: Bool = false) async {
        guard isRunning else { return }
        _ = Glibc.kill(pid, kill ? SIGKILL : SIGTERM)
        if await !waitUntil(timeout: .seconds(5), { !isRunning }) { _ = Glibc.kill(pid, SIGKILL) }
    }

    static func accepts(port: Int) async -> Bool {
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.milliseconds(500))
                .connect(host: "127.0.0.1", port: port).get()
            try? await channel.close()
            return true
        } catch {
            return false
        }
    }
}

/// A private pulsar-lite (binary from the stack's venv) for tests that crash and restart the broker
/// without disturbing suites that share the stack's broker.
struct PrivateBroker {
    let directory: URL
    let port: Int
    let metricsPort: Int
    var url: String { "pulsar://127.0.0.1:\(port)" }

    static func binary() throws -> String {
        let python = try StackEnvironment.require("STACK_PYTHON")
        let lib = URL(fileURLWithPath: python).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("lib")
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: lib.path)) ?? []
        for version in versions.sorted() where version.hasPrefix("python3") {
            let candidate = lib.appendingPathComponent(version).appendingPathComponent("site-packages/pulsar_lite/bin/pulsar-lite").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw Spawn.Failure(description: "pulsar-lite binary not found under \(lib.path)")
    }

    static func make() async throws -> PrivateBroker {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("broker-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let broker = PrivateBroker(directory: directory, port: try freePort(), metricsPort: try freePort())
        let config = """
            addr = "127.0.0.1:\(broker.port)"
            default_partitions = 0
            [metrics]
            enabled = true
            addr = "127.0.0.1:\(broker.metricsPort)"

            """
        try config.write(to: directory.appendingPathComponent("broker.toml"), atomically: true, encoding: .utf8)
        return broker
    }

    /// Starts (or restarts, keeping the data) the broker.
    func start() async throws -> BackgroundProcess {
        try await BackgroundProcess(
            name: "pulsar-lite",
            executable: try Self.binary(),
            arguments: [
                "--config", directory.appendingPathComponent("broker.toml").path,
                "--addr", "127.0.0.1:\(port)",
                "--db-path", directory.appendingPathComponent("broker").path,
                "--log-level", "warn",
            ],
            logFile: directory.appendingPathComponent("broker.log"),
            ports: [port]
        )
    }

    /// The broker's count of messages acknowledged on `subscription` (its metrics), 0 while it does not answer.
    func acknowledged(subscription: String) async -> Int {
        guard let url = URL(string: "http://127.0.0.1:\(metricsPort)/metrics"),
              let (data, _) = try? await URLSession.shared.data(from: url)
        else { return 0 }
        let marker = "subscription=\"\(subscription)\""
        return String(decoding: data, as: UTF8.self).split(separator: "\n")
            .filter { $0.hasPrefix("pulsar_lite_subscription_acked_messages_total{") && $0.contains(marker) }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            .reduce(0) { $0 + Int($1) }
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
