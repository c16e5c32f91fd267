#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A product price held as an exact number of cents (`numeric(12,2)` in the database).
public struct Price: Sendable, Hashable, Comparable, CustomStringConvertible {
    public static let maximumCents: Int64 = 999_999_999_999  // 9,999,999,999.99

    public let cents: Int64

    public init?(cents: Int64) {
        guard cents >= 0 && cents <= Self.maximumCents else { return nil }
        self.cents = cents
    }

    /// Parses Postgres `numeric` text output such as `19.90` or `5`.
    public init?(databaseText text: String) {
        guard let number = ExactNumber(jsonText: text),
              case .exact(let cents) = number.scaled(decimalPlaces: 2, maximum: Self.maximumCents),
              let price = Price(cents: cents)
        else { return nil }
        self = price
    }

    /// `1234.50`: always two decimals; the form sent to Postgres.
    public var description: String {
        let fraction = cents % 100
        return "\(cents / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// The same value as a `Decimal` built from integers (no binary floating point involved),
    /// for callers that want `Decimal` arithmetic.
    public var decimal: Decimal {
        Decimal(sign: .plus, exponent: -2, significand: Decimal(cents))
    }

    public static func < (lhs: Price, rhs: Price) -> Bool { lhs.cents < rhs.cents }
}
