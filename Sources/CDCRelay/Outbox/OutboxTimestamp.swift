import OutboxCore

/// A `timestamptz` as microseconds since the Unix epoch (UTC).
///
/// Parsed from Postgres' text output (DateStyle ISO: `2026-11-29 20:08:23.123456+00`); a pure
/// parser keeps the relay independent of Foundation's locale-sensitive date formatters.
public struct OutboxTimestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var microsecondsSinceEpoch: Int64

    public init(microsecondsSinceEpoch: Int64) {
        self.microsecondsSinceEpoch = microsecondsSinceEpoch
    }

    /// Milliseconds since the epoch (Pulsar's `event_time`), rounded down.
    public var millisecondsSinceEpoch: Int64 {
        let (q, r) = microsecondsSinceEpoch.quotientAndRemainder(dividingBy: 1000)
        return r < 0 ? q - 1 : q
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        lhs.microsecondsSinceEpoch < rhs.microsecondsSinceEpoch
    }

    /// ISO-8601 in UTC with microseconds, e.g. `2026-11-29T20:08:23.123456Z`.
    public var iso8601: String {
        UTCTimestamp.iso8601(units: microsecondsSinceEpoch, fractionDigits: 6)
    }

    public var description: String { iso8601 }

    /// Parses Postgres' ISO text form of a `timestamptz`, or of a `timestamp` (taken as UTC).
    public init(postgresText text: String) throws(OutboxMappingError) {
        var scanner = DigitScanner(Array(text.utf8))
        func fail() -> OutboxMappingError {
            OutboxMappingError(code: .invalidTimestamp, column: "created_at", detail: text)
        }
        guard let year = scanner.number(digits: 4), scanner.take(UInt8(ascii: "-")),
            let month = scanner.number(digits: 2), scanner.take(UInt8(ascii: "-")),
            let day = scanner.number(digits: 2),
            scanner.take(UInt8(ascii: " ")) || scanner.take(UInt8(ascii: "T")),
            let hour = scanner.number(digits: 2), scanner.take(UInt8(ascii: ":")),
            let minute = scanner.number(digits: 2), scanner.take(UInt8(ascii: ":")),
            let second = scanner.number(digits: 2)
        else { throw fail() }
        guard (1...12).contains(month), (1...CivilCalendar.daysInMonth(year: year, month: month)).contains(day),
            hour < 24, minute < 60, second < 60
        else { throw fail() }

        var micros: Int64 = 0
        if scanner.take(UInt8(ascii: ".")) {
            var digits = 0
            while let digit = scanner.digit() {
                guard digits < 6 else { throw fail() }
                micros = micros * 10 + Int64(digit)
                digits += 1
            }
            guard digits > 0 else { throw fail() }
            for _ in digits..<6 { micros *= 10 }
        }

        var offsetSeconds: Int64 = 0
        if scanner.isAtEnd {
            offsetSeconds = 0  // a `timestamp` (without time zone) column: read as UTC
        } else if scanner.take(UInt8(ascii: "Z")) {
            offsetSeconds = 0
        } else {
            let sign: Int64
            if scanner.take(UInt8(ascii: "+")) {
                sign = 1
            } else if scanner.take(UInt8(ascii: "-")) {
                sign = -1
            } else {
                throw fail()
            }
            guard let offsetHours = scanner.number(digits: 2), offsetHours <= 15 else { throw fail() }
            var offset = offsetHours * 3600
            if scanner.take(UInt8(ascii: ":")) {
                guard let offsetMinutes = scanner.number(digits: 2), offsetMinutes < 60 else { throw fail() }
                offset += offsetMinutes * 60
                if scanner.take(UInt8(ascii: ":")) {
                    guard let offsetSecs = scanner.number(digits: 2), offsetSecs < 60 else { throw fail() }
                    offset += offsetSecs
                }
            }
            offsetSeconds = sign * offset
        }
        // "BC", "infinity" and anything else trailing is not a time we can put on an event.
        guard scanner.isAtEnd else { throw fail() }

        let days = CivilCalendar.days(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        self.microsecondsSinceEpoch = seconds * 1_000_000 + micros
    }
}

struct DigitScanner {
    private let bytes: [UInt8]
    private var index = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { index == bytes.count }

    mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    mutating func digit() -> Int? {
        guard index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) else { return nil }
        defer { index += 1 }
        return Int(bytes[index] - UInt8(ascii: "0"))
    }

    mutating func number(digits count: Int) -> Int64? {
        var value: Int64 = 0
        for _ in 0..<count {
            guard let d = digit() else { return nil }
            value = value * 10 + Int64(d)
        }
        return value
    }
}
