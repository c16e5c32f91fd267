import Logging
import Testing
@testable import OutboxCore

@Suite struct UTCTimestampTests {
    @Test func millisecondsAndMicroseconds() {
        #expect(UTCTimestamp.iso8601(units: 0, fractionDigits: 3) == "1970-01-01T00:00:00.000Z")
        #expect(UTCTimestamp.iso8601(units: 1_709_208_000_123, fractionDigits: 3) == "2024-02-29T12:00:00.123Z")
        #expect(UTCTimestamp.iso8601(units: 1_709_208_000_123_456, fractionDigits: 6) == "2024-02-29T12:00:00.123456Z")
        #expect(UTCTimestamp.iso8601(units: 1_709_208_000, fractionDigits: 0) == "2024-02-29T12:00:00Z")
    }

    @Test func beforeTheEpochIsFloored() {
        #expect(UTCTimestamp.iso8601(units: -1, fractionDigits: 3) == "1969-12-31T23:59:59.999Z")
        #expect(UTCTimestamp.iso8601(units: -86_400_000_001, fractionDigits: 6) == "1969-12-30T23:59:59.999999Z")
    }

    @Test func yearsOutsideFourDigits() {
        #expect(UTCTimestamp.iso8601(units: 253_402_300_800_007, fractionDigits: 3) == "10000-01-01T00:00:00.007Z")
        #expect(UTCTimestamp.iso8601(units: 253_402_300_799, fractionDigits: 0) == "9999-12-31T23:59:59Z")
    }
}

@Suite struct DurationMillisecondsTests {
    @Test func wholeMillisecondsNeverZero() {
        #expect(Duration.seconds(5).positiveMilliseconds == 5_000)
        #expect(Duration.milliseconds(1_500).positiveMilliseconds == 1_500)
        #expect(Duration.microseconds(2_999).positiveMilliseconds == 2)
        #expect(Duration.microseconds(10).positiveMilliseconds == 1)
        #expect(Duration.zero.positiveMilliseconds == 1)
    }
}

@Suite struct LineLogHandlerTests {
    @Test func lineHasSortedMetadataSourceAndMessage() {
        let line = LineLogHandler.format(
            timestamp: "2026-11-30T01:00:00.000Z", level: .warning, label: "products-api",
            metadata: ["request_id": "r-1", "operation": "create_product"], source: "API", message: "database operation failed"
        )
        #expect(line == "2026-11-30T01:00:00.000Z warning products-api: operation=create_product request_id=r-1 [API] database operation failed\n")
    }

    @Test func metadataIsAValueOfEachLogger() {
        var first = Logger(label: "a") { LineLogHandler(label: $0) }
        first[metadataKey: "request_id"] = "1"
        var second = first
        second[metadataKey: "request_id"] = "2"
        #expect(first[metadataKey: "request_id"] == "1")
        #expect(second[metadataKey: "request_id"] == "2")
    }
}
