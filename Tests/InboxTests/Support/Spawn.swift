import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Child processes through posix_spawn and waitpid. Foundation's `Process` sometimes never notices
/// that a child exited (seen with the stack script: a zombie, `isRunning` true forever), and the
/// fault tests must kill and reap daemons deterministically.
enum Spawn {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts `executable` with the test's environment plus `environment`; stdin is /dev/null,
    /// stdout and stderr are appended to `logPath` (or discarded). Returns the child's pid.
    static func start(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], logPath: String? = nil, inputPath: String? = nil
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inputPath ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        let merged = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
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
    static func waitBlocking(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status
    }

    /// Waits for the child on a dedicated thread (waitpid blocks) and returns its wait status.
    static func wait(_ pid: pid_t) async -> Int32 {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: waitBlocking(pid)) }
            thread.start()
        }
    }

    /// Runs to completion with output discarded; returns the exit code (-1 if killed by a signal).
    static func run(_ executable: String, _ arguments: [String]) async throws -> Int32 {
        let pid = try start(executable, arguments)
        return exitCode(await wait(pid))
    }

    /// The exit code of a wait status, or -signal when a signal ended the process.
    static func exitCode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : -signal
    }
}

