/// The exact value of a JSON number's text: `±significand × 10^exponent`, with the significand's
/// leading and trailing zeros removed. Interpreting prices through this (instead of `Double`)
/// is what keeps `0.1 + 0.2`-style drift out of the database and the events.
public struct ExactNumber: Sendable, Equatable {
    public var isNegative: Bool
    /// Decimal digits (0…9) without leading or trailing zeros; empty for zero.
    public var significand: [UInt8]
    public var exponent: Int

    public var isZero: Bool { significand.isEmpty }

    /// Parses JSON number text (as produced by ``JSONParser``); returns nil when it is not one.
    public init?(jsonText: String) {
        var bytes = Array(jsonText.utf8)[...]
        var negative = false
        if bytes.first == UInt8(ascii: "-") {
            negative = true
            bytes = bytes.dropFirst()
        }
        var digits: [UInt8] = []
        var fractionDigits = 0
        var seenPoint = false
        var exponentPart: Int = 0
        while let byte = bytes.first {
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                digits.append(byte - UInt8(ascii: "0"))
                if seenPoint { fractionDigits += 1 }
            } else if byte == UInt8(ascii: ".") && !seenPoint {
                seenPoint = true
            } else if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                bytes = bytes.dropFirst()
                guard let parsed = Self.parseExponent(bytes) else { return nil }
                exponentPart = parsed
                bytes = bytes[bytes.endIndex...]
                break
            } else {
                return nil
            }
            bytes = bytes.dropFirst()
        }
        guard !digits.isEmpty else { return nil }
        let leading = digits.prefix(while: { $0 == 0 }).count
        digits.removeFirst(leading)
        var exponent = exponentPart - fractionDigits
        while let last = digits.last, last == 0 {
            digits.removeLast()
            exponent += 1
        }
        self.isNegative = negative && !digits.isEmpty
        self.significand = digits
        self.exponent = digits.isEmpty ? 0 : exponent
    }

    /// Exponents beyond ±10⁶ are clamped: no value we accept is anywhere near them, and the
    /// clamp keeps the arithmetic below from overflowing.
    private static func parseExponent(_ bytes: ArraySlice<UInt8>) -> Int? {
        var rest = bytes
        var negative = false
        if let sign = rest.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            negative = sign == UInt8(ascii: "-")
            rest = rest.dropFirst()
        }
        guard !rest.isEmpty else { return nil }
        var value = 0
        for byte in rest {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            value = min(value * 10 + Int(byte - UInt8(ascii: "0")), 1_000_000)
        }
        return negative ? -value : value
    }

    public enum ScaledInteger: Sendable, Equatable {
        case exact(Int64)
        /// The value has more decimal places than requested.
        case tooPrecise
        /// The scaled magnitude exceeds `maximum`.
        case outOfRange
    }

    /// The value multiplied by 10^`decimalPlaces`, when that is an integer whose magnitude is at
    /// most `maximum` (sign applied afterwards).
    public func scaled(decimalPlaces: Int, maximum: Int64) -> ScaledInteger {
        if isZero { return .exact(0) }
        let shift = exponent + decimalPlaces
        guard shift >= 0 else { return .tooPrecise }
        // More digits than Int64 can hold is out of range whatever `maximum` is.
        guard significand.count + shift <= 18 else { return .outOfRange }
        var magnitude: Int64 = 0
        for digit in significand { magnitude = magnitude * 10 + Int64(digit) }
        for _ in 0..<shift { magnitude *= 10 }
        guard magnitude <= maximum else { return .outOfRange }
        return .exact(isNegative ? -magnitude : magnitude)
    }
}
