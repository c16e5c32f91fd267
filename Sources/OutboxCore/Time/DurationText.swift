import Foundation

/// Durations as configuration text: a whole number with a unit, `ms`, `s`, `m`, `h` or `d`
/// (`7d`, `10m`, `30s`), or `0`. One unit per value keeps the format obvious in a config table.
public enum DurationText {
    /// The duration, or why the text is not one.
    public static func parse(_ raw: String) -> Result<Duration, DurationTextError> {
        let text = raw.trimmingCharacters(in: .whitespaces).lowercased()
        if text == "0" { return .success(.zero) }
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let unit = text.dropFirst(digits.count)
        guard !digits.isEmpty, let value = Int64(digits) else {
            return .failure(DurationTextError(reason: "'\(raw)' is not a duration (e.g. 7d, 10m, 30s, 500ms or 0)"))
        }
        let millisecondsPerUnit: Int64
        switch unit {
        case "ms": millisecondsPerUnit = 1
        case "s": millisecondsPerUnit = 1_000
        case "m": millisecondsPerUnit = 60_000
        case "h": millisecondsPerUnit = 3_600_000
        case "d": millisecondsPerUnit = 86_400_000
        case "": return .failure(DurationTextError(reason: "'\(raw)' has no unit (ms, s, m, h or d)"))
        default: return .failure(DurationTextError(reason: "'\(raw)' has an unknown unit '\(unit)' (ms, s, m, h or d)"))
        }
        let (milliseconds, overflow) = value.multipliedReportingOverflow(by: millisecondsPerUnit)
        guard !overflow else { return .failure(DurationTextError(reason: "'\(raw)' is too long")) }
        return .success(.milliseconds(milliseconds))
    }

    /// The shortest exact spelling: `7d`, `90s`, `1500ms`, `0`.
    public static func format(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1_000 + duration.components.attoseconds / 1_000_000_000_000_000
        if milliseconds == 0 { return "0" }
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)] where milliseconds % size == 0 {
            return "\(milliseconds / size)\(unit)"
        }
        return "\(milliseconds)ms"
    }
}

public struct DurationTextError: Error, Sendable, Equatable {
    public var reason: String
}
