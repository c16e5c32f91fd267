import Foundation

/// The local stack as the tests see it: the variables of `eval "$(scripts/stack --name NAME env)"`.
/// Integration suites run when the stack is there; with `OUTBOX_REQUIRE_STACK=1` (the test runner)
/// they run anyway and a missing stack fails them instead of skipping them.
public enum StackEnvironment {
    public static let environment = ProcessInfo.processInfo.environment

    public static var isRequired: Bool { environment["OUTBOX_REQUIRE_STACK"] == "1" }

    /// Whether every one of `variables` is set and not empty.
    public static func has(_ variables: String...) -> Bool {
        variables.allSatisfy { !(environment[$0] ?? "").isEmpty }
    }

    public struct Missing: Error, CustomStringConvertible {
        public var variable: String
        public init(variable: String) { self.variable = variable }
        public var description: String {
            "the test needs \(variable): run `eval \"$(scripts/stack --name NAME env)\"` after `scripts/stack --name NAME up` (or scripts/test)"
        }
    }

    /// The value of `variable`, or `Missing` naming it.
    public static func require(_ variable: String) throws -> String {
        guard let value = environment[variable], !value.isEmpty else { throw Missing(variable: variable) }
        return value
    }

    public static var pgHost: String { environment["PGHOST"] ?? environment["DATABASE_HOST"] ?? "127.0.0.1" }
    public static var pgPort: Int { Int(environment["PGPORT"] ?? environment["DATABASE_PORT"] ?? "") ?? 5432 }
    public static var database: String { environment["DATABASE_DATABASE"] ?? environment["PGDATABASE"] ?? "app" }
    public static var appUser: String { environment["DATABASE_USERNAME"] ?? "app" }
    public static var replicationUser: String { environment["RELAY_REPLICATION_USERNAME"] ?? "outbox_relay" }
    public static var pulsarURI: String { environment["PULSAR_URI"] ?? "pulsar://127.0.0.1:6650" }
    public static var python: String { environment["STACK_PYTHON"] ?? "python3" }

    /// A short random suffix for slot, schema, database and topic names.
    public static func uniqueName(_ prefix: String) -> String {
        "\(prefix)_\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
    }

    /// `persistent://public/default/<prefix>-<random>`: every test run gets fresh topics.
    public static func uniqueTopic(_ prefix: String) -> String {
        "persistent://public/default/\(prefix)-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
    }

    /// The repository's root (this file is Tests/TestSupport/StackEnvironment.swift).
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A built product (`cdc-relay`, `products-api`, `pulsar-cli`): next to the test bundle, or in `.build/debug`.
    public static func executable(_ name: String) throws -> String {
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        for dir in [bundleDir, repositoryRoot.appendingPathComponent(".build/debug")] {
            let candidate = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw Spawn.Failure(description: "\(name) is not built: run `swift build` first")
    }

    /// `scripts/stack --name NAME <command>` (broker-stop, pg-start, pg-crash, …); throws unless it
    /// exits 0. `suffix` names a private instance `<stack>-<suffix>`; `environment` adds variables
    /// (e.g. `STACK_PG_PORT` for that instance).
    public static func stack(_ command: String, suffix: String? = nil, environment extra: [String: String] = [:]) async throws {
        let script = try require("STACK_SCRIPT")
        let name = try require("STACK_NAME") + (suffix.map { "-" + $0 } ?? "")
        let result = try await Spawn.output("/bin/bash", [script, "--name", name, command], environment: extra)
        guard result.code == 0 else {
            throw Spawn.Failure(description: "stack \(command) exited \(result.code): \(result.output.suffix(2000))")
        }
    }
}

extension StackEnvironment {
    /// The whole stack's environment is there (Postgres, broker, the official client's venv).
    public static var isAvailable: Bool { has("PGPORT", "DATABASE_PORT", "PULSAR_URI", "STACK_PYTHON") }

    /// Run integration suites when the stack is there, or when it is required (then they fail loudly).
    public static var shouldRun: Bool { isAvailable || isRequired }

    /// Throws `Missing` naming the first variable of the stack's environment that is not set.
    public static func requireStack() throws {
        for variable in ["PGPORT", "DATABASE_PORT", "PULSAR_URI", "STACK_PYTHON"] { _ = try require(variable) }
    }
}
