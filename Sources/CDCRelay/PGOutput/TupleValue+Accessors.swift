import NIOCore
import OutboxCore

/// A column value that does not convert to the requested Swift type.
public struct TupleValueError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case null, unchangedToast, invalidText, invalidBinary, invalidUTF8
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        public static let null = Code(.null)
        public static let unchangedToast = Code(.unchangedToast)
        /// Text format that does not parse as the requested type.
        public static let invalidText = Code(.invalidText)
        /// Binary format with the wrong size or version for the requested type.
        public static let invalidBinary = Code(.invalidBinary)
        public static let invalidUTF8 = Code(.invalidUTF8)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var detail: String

    public init(code: Code, detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "TupleValueError(\(code)): \(detail)" }
}

/// Readers that give the same Swift value for the text ('t') and binary ('b') formats, so the
/// relay works with or without pgoutput's `binary` option.
extension TupleValue {
    public var isNull: Bool { self == .null }

    private func bytes(_ what: String) throws(TupleValueError) -> (ByteBuffer, isBinary: Bool) {
        switch self {
        case .null: throw TupleValueError(code: .null, detail: "\(what) is NULL")
        case .unchangedToast: throw TupleValueError(code: .unchangedToast, detail: "\(what) is an unchanged TOAST value (not sent)")
        case .text(let buffer): return (buffer, false)
        case .binary(let buffer): return (buffer, true)
        }
    }

    /// `text`/`varchar` (both formats are the UTF-8 bytes).
    public func asString() throws(TupleValueError) -> String {
        let (buffer, _) = try bytes("text column")
        guard let string = String(validating: buffer.readableBytesView, as: UTF8.self) else {
            throw TupleValueError(code: .invalidUTF8, detail: "text column is not UTF-8")
        }
        return string
    }

    /// `int8`, `int4` or `int2`: decimal text, or big-endian binary of 8, 4 or 2 bytes.
    public func asInt64() throws(TupleValueError) -> Int64 {
        let (buffer, isBinary) = try bytes("integer column")
        if isBinary {
            switch buffer.readableBytes {
            case 8: if let value = buffer.getInteger(at: buffer.readerIndex, as: Int64.self) { return value }
            case 4: if let value = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) { return Int64(value) }
            case 2: if let value = buffer.getInteger(at: buffer.readerIndex, as: Int16.self) { return Int64(value) }
            default: break
            }
            throw TupleValueError(code: .invalidBinary, detail: "integer column has \(buffer.readableBytes) bytes")
        }
        guard let text = String(validating: buffer.readableBytesView, as: UTF8.self), let value = Int64(text) else {
            throw TupleValueError(code: .invalidText, detail: "integer column is not a decimal integer")
        }
        return value
    }

    /// `jsonb` or `json` as JSON text bytes. Binary `jsonb` is a version byte (1) then the text;
    /// binary `json` is the text itself, so pass `isJSONB: false` for `json` columns.
    public func asJSONBytes(isJSONB: Bool = true) throws(TupleValueError) -> ByteBuffer {
        var (buffer, isBinary) = try bytes("json column")
        if isBinary && isJSONB {
            guard buffer.readInteger(as: UInt8.self) == 1 else {
                throw TupleValueError(code: .invalidBinary, detail: "jsonb binary value without version byte 1")
            }
        }
        return buffer
    }

    /// `timestamptz`/`timestamp` as microseconds since the Unix epoch. Binary is int64 µs since
    /// 2000-01-01; text is ISO (`2026-11-29 20:08:24.123456+00`, the session forces DateStyle ISO).
    public func asTimestampMicros() throws(TupleValueError) -> Int64 {
        let (buffer, isBinary) = try bytes("timestamp column")
        if isBinary {
            guard buffer.readableBytes == 8, let micros = buffer.getInteger(at: buffer.readerIndex, as: Int64.self) else {
                throw TupleValueError(code: .invalidBinary, detail: "timestamp column has \(buffer.readableBytes) bytes")
            }
            return PostgresTimestamp.unixMicros(fromPostgresMicros: micros)
        }
        guard let micros = ISOTimestampParser.unixMicros(buffer.readableBytesView) else {
            throw TupleValueError(code: .invalidText, detail: "timestamp column is not an ISO timestamp")
        }
        return micros
    }
}

/// Parses Postgres' ISO timestamp output: `YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]]`.
enum ISOTimestampParser {
    static func unixMicros(_ bytes: some Collection<UInt8>) -> Int64? {
        var scanner = Scanner(bytes: Array(bytes))
        guard let year = scanner.number(digits: 4), scanner.skip("-"),
              let month = scanner.number(digits: 2), scanner.skip("-"),
              let day = scanner.number(digits: 2), scanner.skip(" ") || scanner.skip("T"),
              let hour = scanner.number(digits: 2), scanner.skip(":"),
              let minute = scanner.number(digits: 2), scanner.skip(":"),
              let second = scanner.number(digits: 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var micros: Int64 = 0
        if scanner.skip(".") {
            var digits = 0
            while let digit = scanner.digit() {
                if digits < 6 { micros = micros * 10 + Int64(digit) }
                digits += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 6) { micros *= 10 }
        }
        var offsetSeconds: Int64 = 0
        if let signByte = scanner.peek(), signByte == UInt8(ascii: "+") || signByte == UInt8(ascii: "-") {
            scanner.advance()
            guard let offsetHours = scanner.number(digits: 2) else { return nil }
            var offset = offsetHours * 3600
            if scanner.skip(":") {
                guard let offsetMinutes = scanner.number(digits: 2) else { return nil }
                offset += offsetMinutes * 60
                if scanner.skip(":") {
                    guard let offsetSecs = scanner.number(digits: 2) else { return nil }
                    offset += offsetSecs
                }
            }
            offsetSeconds = signByte == UInt8(ascii: "-") ? -offset : offset
        }
        guard scanner.isAtEnd else { return nil }
        let days = CivilCalendar.days(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return seconds * 1_000_000 + micros
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        var isAtEnd: Bool { index == bytes.count }

        func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func advance() { index += 1 }

        mutating func skip(_ character: Unicode.Scalar) -> Bool {
            guard peek() == UInt8(ascii: character) else { return false }
            index += 1
            return true
        }

        mutating func digit() -> Int64? {
            guard let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            index += 1
            return Int64(byte - UInt8(ascii: "0"))
        }

        mutating func number(digits: Int) -> Int64? {
            var value: Int64 = 0
            for _ in 0..<digits {
                guard let digit = digit() else { return nil }
                value = value * 10 + digit
            }
            return value
        }
    }
}
