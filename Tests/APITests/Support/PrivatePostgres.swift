import Foundation

/// A Postgres instance of its own for a fault suite, managed by the stack script under the name
/// `<stack>-<suffix>` on a fixed port: stopping or crashing the stack's shared Postgres would break
/// every other suite running in parallel.
struct PrivatePostgres: Sendable {
    let suffix: String
    let port: Int

    struct StackCommandFailed: Error { var command: String; var status: Int32 }

    /// Runs `scripts/stack <command>` for this instance (pg-start, pg-stop, pg-crash) and waits for
    /// it with `waitpid` (Foundation's `Process` sometimes misses the exit of a script whose
    /// grandchild, the Postgres server, keeps running).
    func stack(_ command: String) throws {
        let script = try TestStack.require("STACK_SCRIPT")
        let name = try TestStack.require("STACK_NAME") + "-" + suffix
        var environment = ProcessInfo.processInfo.environment
        environment["STACK_PG_PORT"] = String(port)
        let arguments = ["/bin/bash", script, "--name", name, command]
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/bash", nil, nil, argv, envp)
        guard spawned == 0 else { throw StackCommandFailed(command: command, status: spawned) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        // WIFEXITED && WEXITSTATUS == 0
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw StackCommandFailed(command: command, status: status)
        }
    }
}
