/// Wraps any error so actions stay `Equatable` for tests (compared by description).
struct PulsarClientErrorBox: Error, Sendable, Equatable, CustomStringConvertible {
    var error: any Error & Sendable
    init(_ error: any Error & Sendable) { self.error = error }
    static func == (lhs: Self, rhs: Self) -> Bool { String(describing: lhs.error) == String(describing: rhs.error) }
    var description: String { String(describing: error) }
}
