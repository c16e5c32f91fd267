import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A built daemon (`products-api`, `cdc-relay`, `catalog-projector`) started with posix_spawn,
/// its output in a log file; killed with SIGKILL or stopped with SIGTERM and reaped.
final class Daemon: Sendable {
    let name: String
    let pid: pid_t
    let logPath: String

    init(_ name: String, arguments: [String] = [], environment: [String: String], logPath: String? = nil) throws {
        self.name = name
        self.logPath = logPath ?? FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString).log").path
        pid = try Spawn.start(try Self.executable(name).path, arguments, environment: environment, logPath: self.logPath)
    }

    static func executable(_ name: String) throws -> URL {
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        for dir in [bundleDir, InboxTestStack.root.appendingPathComponent(".build/debug")] {
            let candidate = dir.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw InboxTestStack.Failure("\(name) is not built: run `swift build` first")
    }

    /// True until the process exited (a zombie counts as exited).
    var isRunning: Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let end = stat.lastIndex(of: ")") else { return false }
        return !stat[stat.index(after: end)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    func kill9() async {
        kill(pid, SIGKILL)
        _ = await Spawn.wait(pid)
    }

    /// SIGTERM; the exit code, or nil if it had to be killed after `timeout`.
    func terminate(timeout: Duration = .seconds(20)) async -> Int32? {
        kill(pid, SIGTERM)
        let waiting = Task { await Spawn.wait(pid) }
        let deadline = ContinuousClock.now + timeout
        while isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if isRunning {
            kill(pid, SIGKILL)
            _ = await waiting.value
            return nil
        }
        return Spawn.exitCode(await waiting.value)
    }

    func logTail(lines: Int = 40) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return "[\(name) \(logPath)]\n" + text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Polls `url` until it answers 200; throws if the process died or the time ran out.
    func waitUntilHealthy(_ url: URL, timeout: Duration = .seconds(60)) async throws {
        let healthy = await InboxTestStack.waitUntil(timeout: timeout) {
            guard isRunning else { return true }
            guard let (_, response) = try? await URLSession.shared.data(from: url) else { return false }
            return (response as? HTTPURLResponse)?.statusCode == 200
        }
        guard healthy, isRunning else { throw InboxTestStack.Failure("\(url) not healthy within \(timeout):\n\(logTail())") }
    }

    /// A port nobody listens on right now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw InboxTestStack.Failure("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw InboxTestStack.Failure("bind failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
