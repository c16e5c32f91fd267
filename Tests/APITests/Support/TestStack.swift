import Foundation

/// The local stack's environment (`eval "$(scripts/stack --name X env)"`). With
/// `OUTBOX_REQUIRE_STACK=1` a missing stack fails the integration tests instead of skipping them.
enum TestStack {
    static let environment = ProcessInfo.processInfo.environment

    static var isAvailable: Bool {
        environment["DATABASE_HOST"] != nil && environment["DATABASE_PORT"] != nil
    }

    /// Run integration suites when the stack is there, or when it is required (then they fail loudly).
    static var shouldRun: Bool { isAvailable || environment["OUTBOX_REQUIRE_STACK"] == "1" }

    struct Missing: Error, CustomStringConvertible {
        var variable: String
        var description: String { "integration test needs \(variable): run `eval \"$(scripts/stack --name NAME env)\"`" }
    }

    static func require(_ variable: String) throws -> String {
        guard let value = environment[variable], !value.isEmpty else { throw Missing(variable: variable) }
        return value
    }
}
