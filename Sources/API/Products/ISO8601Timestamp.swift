import OutboxCore

/// RFC 3339 / ISO-8601 date-times: strict validation of client-sent values and exact formatting of
/// server timestamps from integer milliseconds (no `Double` rounding, so the row, the response and
/// the event always agree to the millisecond).
public enum ISO8601Timestamp {
    /// `2024-05-01T12:30:00Z`, `2024-05-01T12:30:00.123456+02:00`, lower-case `t`/`z` also accepted.
    public static func isValid(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count >= 20 else { return false }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for i in range {
                guard i < b.count, b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(b[i] - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), b[4] == UInt8(ascii: "-"),
              let month = number(5..<7), b[7] == UInt8(ascii: "-"),
              let day = number(8..<10), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
              let hour = number(11..<13), b[13] == UInt8(ascii: ":"),
              let minute = number(14..<16), b[16] == UInt8(ascii: ":"),
              let second = number(17..<19)
        else { return false }
        guard (1...12).contains(month), day >= 1, Int64(day) <= CivilCalendar.daysInMonth(year: Int64(year), month: Int64(month)),
              hour <= 23, minute <= 59, second <= 60
        else { return false }
        var i = 19
        if b[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < b.count, b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") { i += 1 }
            guard i > start, i - start <= 9 else { return false }
        }
        guard i < b.count else { return false }
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            return i + 1 == b.count
        }
        guard b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), i + 6 == b.count,
              let offsetHours = number((i + 1)..<(i + 3)), b[i + 3] == UInt8(ascii: ":"),
              let offsetMinutes = number((i + 4)..<(i + 6))
        else { return false }
        return offsetHours <= 23 && offsetMinutes <= 59
    }

    /// `2026-11-29T20:10:00.123Z` for milliseconds since 1970-01-01T00:00:00Z.
    public static func format(millisecondsSince1970 ms: Int64) -> String {
        UTCTimestamp.iso8601(units: ms, fractionDigits: 3)
    }
}
