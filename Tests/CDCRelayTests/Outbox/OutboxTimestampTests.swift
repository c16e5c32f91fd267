import Testing

@testable import CDCRelay

@Suite struct OutboxTimestampTests {
    @Test(arguments: [
        ("1970-01-01 00:00:00+00", Int64(0)),
        ("2026-11-29 20:08:23.123456+00", 1_795_982_903_123_456),
        ("2026-11-29 20:08:23.1+00", 1_795_982_903_100_000),
        ("2026-11-29 22:08:23+02", 1_795_982_903_000_000),
        ("2026-11-29 14:38:23-05:30", 1_795_982_903_000_000),
        ("2026-11-29T20:08:23Z", 1_795_982_903_000_000),
        ("1969-12-31 23:59:59.999999+00", -1),
        ("2024-02-29 12:00:00+00", 1_709_208_000_000_000),
        // A `timestamp` (without time zone) column is read as UTC.
        ("2026-11-29 20:08:23", 1_795_982_903_000_000),
        ("2026-11-29 20:08:23.5", 1_795_982_903_500_000),
        ("2000-01-01 00:00:00", PostgresTimestamp.unixEpochOffsetMicros),
        ("1969-12-31 23:59:59.5+00", -500_000),
    ])
    func parsesPostgresText(_ text: String, _ micros: Int64) throws {
        #expect(try OutboxTimestamp(postgresText: text).microsecondsSinceEpoch == micros)
    }

    @Test(arguments: [
        "", "2026-11-29", "2026-13-01 00:00:00+00", "2023-02-29 00:00:00+00", "2026-11-29 24:00:00+00",
        "2026-11-29 20:08:23 ", "2026-11-29 20:08:23.1234567+00", "infinity", "2026-11-29 20:08:23+00 BC",
        "2026-11-29 20:08:23.+00", "yesterday",
    ])
    func rejectsOtherText(_ text: String) {
        #expect(throws: OutboxMappingError(code: .invalidTimestamp, column: "created_at", detail: text)) {
            try OutboxTimestamp(postgresText: text)
        }
    }

    @Test func formatsISO8601AndMilliseconds() {
        let before = OutboxTimestamp(microsecondsSinceEpoch: -1)
        #expect(before.iso8601 == "1969-12-31T23:59:59.999999Z")
        #expect(before.millisecondsSinceEpoch == -1)
        let t = OutboxTimestamp(microsecondsSinceEpoch: 1_795_982_903_123_456)
        #expect(t.iso8601 == "2026-11-29T20:08:23.123456Z")
        #expect(t.millisecondsSinceEpoch == 1_795_982_903_123)
    }

    @Test func roundTripsThroughText() throws {
        var value: Int64 = -62_135_596_800_000_000  // 0001-01-01
        while value < 4_102_444_800_000_000 {  // 2100-01-01
            let t = OutboxTimestamp(microsecondsSinceEpoch: value)
            let text = t.iso8601.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "+00")
            #expect(try OutboxTimestamp(postgresText: text) == t)
            value += 86_399_999_999 * 37 + 12_345
        }
    }
}
