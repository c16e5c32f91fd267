import Foundation
import Testing

/// The local stack's coordinates, from `scripts/stack env`. Integration tests run only when the
/// stack is there; under the test runner (`OUTBOX_REQUIRE_STACK=1`) a missing stack is a failure.
enum RelayTestStack {
    static let environment = ProcessInfo.processInfo.environment

    static var isAvailable: Bool {
        environment["DATABASE_PORT"] != nil && environment["PULSAR_URI"] != nil && environment["STACK_PYTHON"] != nil
    }

    static var isRequired: Bool { environment["OUTBOX_REQUIRE_STACK"] == "1" }
    /// Run the suites when the stack is there, or when it is required (then they fail loudly).
    static var shouldRun: Bool { isAvailable || isRequired }

    static var pgHost: String { environment["PGHOST"] ?? "127.0.0.1" }
    static var pgPort: Int { Int(environment["PGPORT"] ?? environment["DATABASE_PORT"] ?? "") ?? 5432 }
    static var database: String { environment["DATABASE_DATABASE"] ?? "app" }
    static var appUser: String { environment["DATABASE_USERNAME"] ?? "app" }
    static var replicationUser: String { environment["RELAY_REPLICATION_USERNAME"] ?? "outbox_relay" }
    static var pulsarURI: String { environment["PULSAR_URI"] ?? "pulsar://127.0.0.1:6650" }
    static var python: String { environment["STACK_PYTHON"] ?? "python3" }
    static var stackScript: String? { environment["STACK_SCRIPT"] }
    static var stackName: String? { environment["STACK_NAME"] }

    struct Missing: Error, CustomStringConvertible {
        var description: String { "OUTBOX_REQUIRE_STACK=1 but the stack environment is missing: run via scripts/test" }
    }

    static func require() throws {
        guard isAvailable else { throw Missing() }
    }

    /// A short unique suffix for slot, schema and topic names.
    static func uniqueName(_ prefix: String) -> String {
        let random = UInt32.random(in: 0...UInt32.max)
        return "\(prefix)_\(String(random, radix: 36))"
    }
}

@Suite struct RelayTestStackPresence {
    @Test func stackIsPresentWhenRequired() {
        if RelayTestStack.isRequired {
            #expect(RelayTestStack.isAvailable, "OUTBOX_REQUIRE_STACK=1 but the stack environment is missing")
        }
    }
}
