import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Child processes through posix_spawn and waitpid. Foundation's `Process` sometimes never notices
/// that a child exited (the stack script leaves its grandchild, a server, running with inherited
/// descriptors: a zombie, `isRunning` true forever), and the fault tests must kill and reap
/// daemons deterministically.
public enum Spawn {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Starts `executable` with the test's environment plus `environment`; stdin is `inputPath`
    /// (or /dev/null), stdout and stderr are appended to `logPath` (or discarded). Returns the pid.
    /// `errorPath` keeps stderr apart from stdout; `directory` is the child's working directory.
    public static func start(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], logPath: String? = nil,
        inputPath: String? = nil, errorPath: String? = nil, directory: String? = nil
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inputPath ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if let errorPath {
            posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }

        let merged = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        // glibc's posix_spawn has no portable chdir action: a shell changes directory, then execs.
        let (executable, arguments) = directory.map { ("/bin/sh", ["-c", "cd \"$0\" && exec \"$@\"", $0, executable] + arguments) }
            ?? (executable, arguments)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard result == 0 else {
            throw Failure(description: "posix_spawn \(executable): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// Blocks the calling thread until the child exits; returns its wait status.
    public static func waitBlocking(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status
    }

    /// Waits for the child on a dedicated thread (waitpid blocks) and returns its wait status.
    public static func wait(_ pid: pid_t) async -> Int32 {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: waitBlocking(pid)) }
            thread.start()
        }
    }

    /// The exit code of a wait status, or -signal when a signal ended the process.
    public static func exitCode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : -signal
    }

    /// Whether `pid` is still alive: false once it exited, even while it is an unreaped zombie.
    public static func isRunning(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let end = stat.lastIndex(of: ")")
        else { return false }
        // "pid (comm) S …": the state letter follows the command name.
        return !stat[stat.index(after: end)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    /// Runs to completion with output discarded; returns the exit code.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> Int32 {
        let pid = try start(executable, arguments, environment: environment)
        return exitCode(await wait(pid))
    }

    /// Runs to completion, `input` on stdin; returns the exit code and stdout+stderr. With a
    /// `timeout` the child is killed (SIGKILL) when it runs longer, and the code is then -9.
    public static func output(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], input: String? = nil,
        timeout: Duration? = nil
    ) async throws -> (code: Int32, output: String) {
        let files = try TemporaryFiles(input: input)
        defer { files.remove() }
        let pid = try start(executable, arguments, environment: environment, logPath: files.outputPath, inputPath: files.inputPath)
        let killer = timeout.map { timeout in
            Task {
                try await Task.sleep(for: timeout)  // a deadline, not synchronisation
                kill(pid, SIGKILL)
            }
        }
        let status = await wait(pid)
        killer?.cancel()
        return (exitCode(status), files.output)
    }

    /// `output` for short commands from synchronous code: the calling thread waits.
    public static func outputBlocking(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], input: String? = nil
    ) throws -> (code: Int32, output: String) {
        let files = try TemporaryFiles(input: input)
        defer { files.remove() }
        let pid = try start(executable, arguments, environment: environment, logPath: files.outputPath, inputPath: files.inputPath)
        return (exitCode(waitBlocking(pid)), files.output)
    }

    /// The first of `candidates` directories holding an executable `name` (psql, pg_ctl, …).
    public static func which(_ name: String) -> String {
        for dir in ["/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/bin", "/bin"] {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return "/usr/bin/\(name)"
    }

    /// stdin and output of one child go through files: no pipe can fill up and block it.
    private struct TemporaryFiles {
        let outputPath: String
        let inputPath: String?

        init(input: String?) throws {
            let base = FileManager.default.temporaryDirectory.appendingPathComponent("spawn-\(UUID().uuidString)").path
            outputPath = base + ".out"
            inputPath = input.map { _ in base + ".in" }
            if let input, let inputPath { try input.write(toFile: inputPath, atomically: false, encoding: .utf8) }
        }

        var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

        func remove() {
            try? FileManager.default.removeItem(atPath: outputPath)
            if let inputPath { try? FileManager.default.removeItem(atPath: inputPath) }
        }
    }
}

extension Spawn {
    /// Runs a short command to completion (the calling thread waits); its output, or `Failure`
    /// with the output when it does not exit 0.
    @discardableResult
    public static func checked(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], input: String? = nil
    ) throws -> String {
        let result = try outputBlocking(executable, arguments, environment: environment, input: input)
        guard result.code == 0 else {
            let command = ([executable] + arguments).joined(separator: " ").prefix(300)
            throw Failure(description: "\(command) exited \(result.code): \(result.output.suffix(4000))")
        }
        return result.output
    }
}

extension Spawn {
    /// A finished helper's exit code and its two output streams.
    public struct Captured: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// Only the JSON lines of stdout (helpers print nothing else there, but be robust to stray logs).
        public var lines: [String] { stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix("{") } }
    }

    /// Runs a helper to completion without blocking a cooperative thread, stdout and stderr apart;
    /// killed (and `Failure` thrown) when it runs longer than `timeout`.
    public static func capture(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(120)) async throws -> Captured {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("capture-\(UUID().uuidString)").path
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        let pid = try start(executable, arguments, logPath: base + ".out", errorPath: base + ".err")
        let killer = Task {
            try await Task.sleep(for: timeout)  // a deadline, not synchronisation
            kill(pid, SIGKILL)
        }
        let code = exitCode(await wait(pid))
        killer.cancel()
        let stdout = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
        if code == -SIGKILL {
            throw Failure(description: "\(executable) \(arguments.joined(separator: " ")) timed out after \(timeout); stderr: \(stderr.suffix(2000))")
        }
        return Captured(status: code, stdout: stdout, stderr: stderr)
    }
}
