/// ISO-8601 date-times in UTC (`2026-11-30T01:49:03.123Z`) from integer time since the Unix
/// epoch, exact to the unit given (no `Double` on the way). Written byte by byte: the API formats
/// one per create and the relay one per event.
public enum UTCTimestamp {
    /// `units` since 1970-01-01T00:00:00Z, with `unitsPerSecond` of 10^`fractionDigits`
    /// (1000 → milliseconds, 3 digits; 1_000_000 → microseconds, 6 digits). Times before 1970 are
    /// floored, years past 9999 take as many digits as they need.
    public static func iso8601(units: Int64, fractionDigits: Int) -> String {
        var unitsPerSecond: Int64 = 1
        for _ in 0..<fractionDigits { unitsPerSecond *= 10 }
        var (seconds, fraction) = units.quotientAndRemainder(dividingBy: unitsPerSecond)
        if fraction < 0 {
            fraction += unitsPerSecond
            seconds -= 1
        }
        var (days, secondOfDay) = seconds.quotientAndRemainder(dividingBy: 86_400)
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (year, month, day) = CivilCalendar.civil(fromDays: days)
        let (hour, minute, second) = (secondOfDay / 3600, secondOfDay / 60 % 60, secondOfDay % 60)
        guard (0...9999).contains(year) else {
            let date = "\(year)-\(padded(month, 2))-\(padded(day, 2))"
            let time = "T\(padded(hour, 2)):\(padded(minute, 2)):\(padded(second, 2))"
            return date + time + (fractionDigits > 0 ? "." + padded(fraction, fractionDigits) : "") + "Z"
        }
        let length = 20 + (fractionDigits > 0 ? fractionDigits + 1 : 0)
        return String(unsafeUninitializedCapacity: length) { out in
            var index = 0
            func put(_ value: Int64, _ width: Int) {
                var value = value
                for position in stride(from: index + width - 1, through: index, by: -1) {
                    out[position] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
                index += width
            }
            func put(_ byte: Unicode.Scalar) {
                out[index] = UInt8(ascii: byte)
                index += 1
            }
            put(year, 4); put("-"); put(month, 2); put("-"); put(day, 2); put("T")
            put(hour, 2); put(":"); put(minute, 2); put(":"); put(second, 2)
            if fractionDigits > 0 {
                put(".")
                put(fraction, fractionDigits)
            }
            put("Z")
            return index
        }
    }

    private static func padded(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
