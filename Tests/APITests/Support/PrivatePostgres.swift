import Foundation
import TestSupport

/// A Postgres instance of its own for a fault suite, managed by the stack script under the name
/// `<stack>-<suffix>` on a fixed port: stopping or crashing the stack's shared Postgres would break
/// every other suite running in parallel.
struct PrivatePostgres: Sendable {
    let suffix: String
    let port: Int

    /// Runs `scripts/stack <command>` for this instance (pg-start, pg-stop, pg-crash) to completion.
    func stack(_ command: String) throws {
        let script = try StackEnvironment.require("STACK_SCRIPT")
        let name = try StackEnvironment.require("STACK_NAME") + "-" + suffix
        try Spawn.checked("/bin/bash", [script, "--name", name, command], environment: ["STACK_PG_PORT": String(port)])
    }
}
