import Testing
import TestSupport

@Suite struct TestStackPresence {
    @Test func stackIsPresentWhenRequired() throws {
        if StackEnvironment.isRequired { try StackEnvironment.requireStack() }
    }
}
