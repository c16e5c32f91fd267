import Foundation
import Testing

/// The local stack's coordinates, from `scripts/stack env`. Integration tests run only when the
/// stack is there; under the test runner (`OUTBOX_REQUIRE_STACK=1`) a missing stack is a failure.
enum TestStack {
    static let environment = ProcessInfo.processInfo.environment

    static var isAvailable: Bool {
        environment["DATABASE_PORT"] != nil && environment["PGPORT"] != nil
    }

    static var isRequired: Bool { environment["OUTBOX_REQUIRE_STACK"] == "1" }

    static var postgresPort: Int { Int(environment["PGPORT"] ?? "") ?? 5432 }
    static var postgresHost: String { environment["PGHOST"] ?? "127.0.0.1" }
}

@Suite struct TestStackPresence {
    @Test func stackIsPresentWhenRequired() {
        if TestStack.isRequired {
            #expect(TestStack.isAvailable, "OUTBOX_REQUIRE_STACK=1 but the stack environment is missing: run via scripts/test")
        }
    }
}
