/// A position in the write-ahead log: a byte offset, printed by Postgres as two hex halves (`16/B374D848`).
public struct LSN: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var value: UInt64

    public static let zero = LSN(0)

    public init(_ value: UInt64) {
        self.value = value
    }

    /// Parses the `%X/%X` text form Postgres uses (e.g. in `pg_replication_slots` or `IDENTIFY_SYSTEM`).
    /// Returns nil for anything that is not two hex halves of at most 8 digits each.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2,
              (1...8).contains(parts[0].count), (1...8).contains(parts[1].count),
              let high = UInt32(parts[0], radix: 16), let low = UInt32(parts[1], radix: 16)
        else { return nil }
        // `UInt32(_:radix:)` accepts a leading sign; an LSN never has one.
        guard !parts[0].hasPrefix("+"), !parts[0].hasPrefix("-"),
              !parts[1].hasPrefix("+"), !parts[1].hasPrefix("-")
        else { return nil }
        self.value = UInt64(high) << 32 | UInt64(low)
    }

    public var description: String {
        String(UInt32(truncatingIfNeeded: value >> 32), radix: 16, uppercase: true) + "/"
            + String(UInt32(truncatingIfNeeded: value), radix: 16, uppercase: true)
    }

    public static func < (lhs: LSN, rhs: LSN) -> Bool {
        lhs.value < rhs.value
    }
}
