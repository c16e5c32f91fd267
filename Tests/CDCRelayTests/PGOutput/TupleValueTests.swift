import NIOCore
import Testing
@testable import CDCRelay

@Suite("tuple value readers (text and binary formats)")
struct TupleValueTests {
    @Test func integers() throws {
        #expect(try TupleValue.text(ByteBuffer(string: "-9223372036854775808")).asInt64() == .min)
        #expect(try TupleValue.binary(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE])).asInt64() == -2)
        #expect(try TupleValue.binary(ByteBuffer(bytes: [0, 0, 1, 0])).asInt64() == 256)
        #expect(try TupleValue.binary(ByteBuffer(bytes: [0x80, 0])).asInt64() == -32_768)
        #expect(throws: TupleValueError.self) { try TupleValue.binary(ByteBuffer(bytes: [1, 2, 3])).asInt64() }
        #expect(throws: TupleValueError.self) { try TupleValue.text(ByteBuffer(string: "12a")).asInt64() }
        let null = #expect(throws: TupleValueError.self) { try TupleValue.null.asInt64() }
        #expect(null?.code == .null)
        let toast = #expect(throws: TupleValueError.self) { try TupleValue.unchangedToast.asString() }
        #expect(toast?.code == .unchangedToast)
    }

    @Test func strings() throws {
        #expect(try TupleValue.text(ByteBuffer(string: "product ✓")).asString() == "product ✓")
        #expect(try TupleValue.binary(ByteBuffer(string: "product")).asString() == "product")
        let bad = #expect(throws: TupleValueError.self) { try TupleValue.text(ByteBuffer(bytes: [0xFF])).asString() }
        #expect(bad?.code == .invalidUTF8)
    }

    @Test func json() throws {
        #expect(try TupleValue.text(ByteBuffer(string: #"{"a": 1}"#)).asJSONBytes() == ByteBuffer(string: #"{"a": 1}"#))
        #expect(try TupleValue.binary(ByteBuffer(bytes: [1] + Array(#"{"a": 1}"#.utf8))).asJSONBytes() == ByteBuffer(string: #"{"a": 1}"#))
        #expect(try TupleValue.binary(ByteBuffer(string: "[]")).asJSONBytes(isJSONB: false) == ByteBuffer(string: "[]"))
        #expect(throws: TupleValueError.self) { try TupleValue.binary(ByteBuffer(bytes: [2, 0x7B, 0x7D])).asJSONBytes() }
        #expect(throws: TupleValueError.self) { try TupleValue.binary(ByteBuffer()).asJSONBytes() }
    }

    @Test func timestamps() throws {
        // 2026-11-29 20:08:24.123456 UTC
        let unix: Int64 = 1_795_982_904_123_456
        var binary = ByteBuffer()
        binary.writeInteger(PostgresTimestamp.postgresMicros(fromUnixMicros: unix))
        #expect(try TupleValue.binary(binary).asTimestampMicros() == unix)
        #expect(try TupleValue.text(ByteBuffer(string: "2026-11-29 20:08:24.123456+00")).asTimestampMicros() == unix)
        #expect(try TupleValue.text(ByteBuffer(string: "2026-11-29 22:08:24.123456+02")).asTimestampMicros() == unix)
        #expect(try TupleValue.text(ByteBuffer(string: "2026-11-29 14:38:24.123456-05:30")).asTimestampMicros() == unix)
        #expect(try TupleValue.text(ByteBuffer(string: "2026-11-29 20:08:24.1+00")).asTimestampMicros() == unix - 23_456)
        #expect(try TupleValue.text(ByteBuffer(string: "2026-11-29 20:08:24+00")).asTimestampMicros() == unix - 123_456)
        #expect(try TupleValue.text(ByteBuffer(string: "1970-01-01 00:00:00+00")).asTimestampMicros() == 0)
        #expect(try TupleValue.text(ByteBuffer(string: "2000-01-01 00:00:00")).asTimestampMicros() == PostgresTimestamp.unixEpochOffsetMicros)
        #expect(try TupleValue.text(ByteBuffer(string: "1969-12-31 23:59:59.5+00")).asTimestampMicros() == -500_000)
        for bad in ["2026-13-01 00:00:00+00", "2026-11-29", "2026-11-29 20:08:24.+00", "2026-11-29 20:08:24+0", "yesterday", "2026-11-29 20:08:24+00 "] {
            #expect(throws: TupleValueError.self, "\(bad)") { try TupleValue.text(ByteBuffer(string: bad)).asTimestampMicros() }
        }
        #expect(throws: TupleValueError.self) { try TupleValue.binary(ByteBuffer(bytes: [0, 0, 0, 1])).asTimestampMicros() }
    }
}
