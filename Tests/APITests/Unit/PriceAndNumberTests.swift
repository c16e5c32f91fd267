import Foundation
import Testing
@testable import API

@Suite struct PriceAndNumberTests {
    func cents(_ text: String) -> ExactNumber.ScaledInteger? {
        ExactNumber(jsonText: text)?.scaled(decimalPlaces: 2, maximum: Price.maximumCents)
    }

    @Test(arguments: [
        ("19.99", 1999 as Int64), ("0", 0), ("-0", 0), ("0.1", 10), ("0.01", 1), ("1.230", 123),
        ("1.5e2", 15000), ("1234E-2", 1234), ("9999999999.99", 999_999_999_999), ("100", 10000),
    ])
    func exactCents(text: String, expected: Int64) {
        #expect(cents(text) == .exact(expected))
    }

    @Test func tooPreciseAndOutOfRange() {
        #expect(cents("0.125") == .tooPrecise)
        #expect(cents("1e-3") == .tooPrecise)
        #expect(cents("10000000000") == .outOfRange)
        #expect(cents("9999999999.991") == .tooPrecise)
        #expect(cents("1e400") == .outOfRange)
        #expect(cents("123456789012345678901234567890") == .outOfRange)
    }

    @Test func priceTextAndDecimalAreExact() throws {
        #expect(Price(cents: 1990)?.description == "19.90")
        #expect(Price(cents: 5)?.description == "0.05")
        #expect(Price(cents: 999_999_999_999)?.description == "9999999999.99")
        #expect(Price(databaseText: "19.90") == Price(cents: 1990))
        #expect(Price(cents: -1) == nil)
        // JSONEncoder writes the Decimal built from cents without float drift.
        for value in [1 as Int64, 10, 1999, 999_999_999_999, 123_456_789_001, 700_000_000_007] {
            let price = try #require(Price(cents: value))
            let json = String(decoding: try JSONEncoder().encode([price.decimal]), as: UTF8.self)
            let text = String(json.dropFirst().dropLast())
            #expect(ExactNumber(jsonText: text)?.scaled(decimalPlaces: 2, maximum: Price.maximumCents) == .exact(value), "\(json)")
        }
    }
}
