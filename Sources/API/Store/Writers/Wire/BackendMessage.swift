import NIOCore

/// The backend messages a create writer's connection can receive after start-up (extended query
/// protocol only: Parse, Bind, Execute, Sync).
enum BackendMessage: Equatable {
    case parseComplete
    case bindComplete
    /// Column values; nil is SQL NULL.
    case dataRow([ByteBuffer?])
    case commandComplete(tag: String)
    case readyForQuery
    case errorResponse(PostgresServerError)
    /// Notices, parameter changes and notifications: nothing for the writer to act on.
    case asynchronous
}

/// Splits the byte stream into backend messages and decodes them. Pure and total: any input
/// yields messages, "need more bytes", or a ``WriterConnectionError``, never a crash.
struct BackendMessageDecoder: NIOSingleStepByteToMessageDecoder {
    typealias InboundOut = BackendMessage

    /// Far above anything this connection receives (a one-column row, short errors); a bigger
    /// length means the stream is out of step.
    static let maximumMessageLength = 1 << 20

    mutating func decode(buffer: inout ByteBuffer) throws -> BackendMessage? {
        guard let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              let length = buffer.getInteger(at: buffer.readerIndex + 1, as: Int32.self) else { return nil }
        guard length >= 4, Int(length) <= Self.maximumMessageLength else {
            throw WriterConnectionError(code: .malformedMessage, context: "message '\(Self.name(type))' declares length \(length)")
        }
        guard buffer.readableBytes >= 1 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 5)
        guard var body = buffer.readSlice(length: Int(length) - 4) else { return nil }
        let message = try Self.decode(type: type, body: &body)
        guard body.readableBytes == 0 else {
            throw WriterConnectionError(code: .malformedMessage, context: "message '\(Self.name(type))' has \(body.readableBytes) trailing bytes")
        }
        return message
    }

    mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> BackendMessage? {
        try decode(buffer: &buffer)
    }

    private static func decode(type: UInt8, body: inout ByteBuffer) throws -> BackendMessage {
        switch type {
        case UInt8(ascii: "1"): return .parseComplete
        case UInt8(ascii: "2"): return .bindComplete
        case UInt8(ascii: "Z"):
            guard body.readInteger(as: UInt8.self) != nil else { throw truncated(type) }
            return .readyForQuery
        case UInt8(ascii: "C"):
            guard let tag = readCString(&body) else { throw truncated(type) }
            return .commandComplete(tag: tag)
        case UInt8(ascii: "D"):
            guard let count = body.readInteger(as: Int16.self), count >= 0 else { throw truncated(type) }
            var columns: [ByteBuffer?] = []
            columns.reserveCapacity(Int(count))
            for _ in 0..<count {
                guard let length = body.readInteger(as: Int32.self) else { throw truncated(type) }
                if length == -1 {
                    columns.append(nil)
                } else {
                    guard length >= 0, let value = body.readSlice(length: Int(length)) else { throw truncated(type) }
                    columns.append(value)
                }
            }
            return .dataRow(columns)
        case UInt8(ascii: "E"):
            var fields: [UInt8: String] = [:]
            while true {
                guard let field = body.readInteger(as: UInt8.self) else { throw truncated(type) }
                if field == 0 { break }
                guard let value = readCString(&body) else { throw truncated(type) }
                fields[field] = value
            }
            // V: severity (never localized), S: localized severity, C: SQLSTATE, M: message.
            return .errorResponse(PostgresServerError(
                sqlState: fields[UInt8(ascii: "C")] ?? "XX000",
                severity: fields[UInt8(ascii: "V")] ?? fields[UInt8(ascii: "S")] ?? "ERROR",
                message: fields[UInt8(ascii: "M")] ?? ""
            ))
        case UInt8(ascii: "N"), UInt8(ascii: "S"), UInt8(ascii: "A"):
            body.moveReaderIndex(to: body.writerIndex)
            return .asynchronous
        default:
            throw WriterConnectionError(code: .malformedMessage, context: "unknown message type '\(name(type))'")
        }
    }

    private static func readCString(_ buffer: inout ByteBuffer) -> String? {
        guard let end = buffer.readableBytesView.firstIndex(of: 0) else { return nil }
        let string = buffer.readString(length: end - buffer.readerIndex)
        buffer.moveReaderIndex(forwardBy: 1)
        return string
    }

    private static func truncated(_ type: UInt8) -> WriterConnectionError {
        WriterConnectionError(code: .malformedMessage, context: "message '\(name(type))' is truncated")
    }

    private static func name(_ type: UInt8) -> String {
        (0x20..<0x7F).contains(type) ? String(UnicodeScalar(type)) : "0x" + String(type, radix: 16)
    }
}
