import NIOCore
import Testing
@testable import API

struct BackendMessageDecoderTests {
    @Test func decodesTheMessagesOfAStatement() throws {
        var buffer = ByteBuffer()
        BackendBytes.parseComplete(&buffer)
        BackendBytes.bindComplete(&buffer)
        BackendBytes.dataRow([BackendBytes.int8(4), nil], &buffer)
        BackendBytes.commandComplete("SELECT 1", &buffer)
        BackendBytes.readyForQuery(&buffer)
        let messages = try decodeAll(&buffer)
        #expect(messages == [
            .parseComplete, .bindComplete, .dataRow([BackendBytes.int8(4), nil]), .commandComplete(tag: "SELECT 1"), .readyForQuery,
        ])
        #expect(buffer.readableBytes == 0)
    }

    @Test func decodesAnErrorResponseWithItsSQLState() throws {
        var buffer = ByteBuffer()
        BackendBytes.errorResponse(sqlState: "23505", message: "duplicate key value", &buffer)
        #expect(try decodeAll(&buffer) == [
            .errorResponse(PostgresServerError(sqlState: "23505", severity: "ERROR", message: "duplicate key value")),
        ])
    }

    @Test func noticesAndParameterChangesAreAsynchronous() throws {
        var buffer = ByteBuffer()
        for type in ["N", "S", "A"] {
            BackendBytes.message(UInt8(ascii: Unicode.Scalar(type)!), &buffer) { $0.writeString("anything\0") }
        }
        #expect(try decodeAll(&buffer) == [.asynchronous, .asynchronous, .asynchronous])
    }

    @Test func waitsForAWholeMessage() throws {
        var whole = ByteBuffer()
        BackendBytes.dataRow([BackendBytes.int8(7)], &whole)
        var decoder = BackendMessageDecoder()
        for cut in 0..<whole.readableBytes {
            var partial = whole.getSlice(at: 0, length: cut) ?? ByteBuffer()
            #expect(try decoder.decode(buffer: &partial) == nil)
            #expect(partial.readableBytes == cut, "a partial message is not consumed")
        }
    }

    @Test(arguments: [Int32(3), Int32(-1), Int32(BackendMessageDecoder.maximumMessageLength + 1)])
    func rejectsAnImpossibleLength(_ length: Int32) {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(ascii: "D"))
        buffer.writeInteger(length)
        var decoder = BackendMessageDecoder()
        #expect(throws: WriterConnectionError.self) { try decoder.decode(buffer: &buffer) }
    }

    @Test func rejectsAnUnknownMessageType() {
        var buffer = ByteBuffer()
        BackendBytes.message(UInt8(ascii: "T"), &buffer) { $0.writeInteger(Int16(0)) }
        var decoder = BackendMessageDecoder()
        #expect(throws: WriterConnectionError(code: .malformedMessage, context: "unknown message type 'T'")) { try decoder.decode(buffer: &buffer) }
    }

    @Test func rejectsARowWhoseColumnsOverrunTheMessage() {
        var buffer = ByteBuffer()
        BackendBytes.message(UInt8(ascii: "D"), &buffer) { body in
            body.writeInteger(Int16(1))
            body.writeInteger(Int32(8))
            body.writeInteger(Int32(1))  // 4 of the 8 bytes announced
        }
        var decoder = BackendMessageDecoder()
        #expect(throws: WriterConnectionError.self) { try decoder.decode(buffer: &buffer) }
    }

    @Test func rejectsTrailingBytesInsideAMessage() {
        var buffer = ByteBuffer()
        BackendBytes.message(UInt8(ascii: "Z"), &buffer) { $0.writeString("II") }
        var decoder = BackendMessageDecoder()
        #expect(throws: WriterConnectionError.self) { try decoder.decode(buffer: &buffer) }
    }

    @Test func rejectsAnErrorResponseWithoutTerminator() {
        var buffer = ByteBuffer()
        BackendBytes.message(UInt8(ascii: "E"), &buffer) { $0.writeString("C23505") }
        var decoder = BackendMessageDecoder()
        #expect(throws: WriterConnectionError.self) { try decoder.decode(buffer: &buffer) }
    }

    /// Random bytes, and valid streams with random bytes flipped: decoding ends in messages,
    /// "need more" or a typed error, never a crash.
    @Test func arbitraryBytesNeverCrash() {
        var generator = SystemRandomNumberGenerator()
        var valid = ByteBuffer()
        BackendBytes.bindComplete(&valid)
        BackendBytes.dataRow([BackendBytes.int8(3)], &valid)
        BackendBytes.errorResponse(sqlState: "P0001", message: "boom", &valid)
        BackendBytes.readyForQuery(&valid)
        let template = Array(valid.readableBytesView)
        for round in 0..<2_000 {
            var bytes: [UInt8]
            if round.isMultiple(of: 2) {
                bytes = (0..<Int.random(in: 0...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            } else {
                bytes = template
                for _ in 0..<3 { bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
            }
            var buffer = ByteBuffer(bytes: bytes)
            var decoder = BackendMessageDecoder()
            do {
                while try decoder.decode(buffer: &buffer) != nil {}
            } catch {
                #expect(error is WriterConnectionError)
            }
        }
    }

    private func decodeAll(_ buffer: inout ByteBuffer) throws -> [BackendMessage] {
        var decoder = BackendMessageDecoder()
        var messages: [BackendMessage] = []
        while let message = try decoder.decode(buffer: &buffer) { messages.append(message) }
        return messages
    }
}

/// Backend messages as a server sends them, for tests.
enum BackendBytes {
    static func message(_ type: UInt8, _ buffer: inout ByteBuffer, _ body: (inout ByteBuffer) -> Void) {
        var payload = ByteBuffer()
        body(&payload)
        buffer.writeInteger(type)
        buffer.writeInteger(Int32(payload.readableBytes + 4))
        buffer.writeBuffer(&payload)
    }

    static func int8(_ value: Int64) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(value)
        return buffer
    }

    static func parseComplete(_ buffer: inout ByteBuffer) { message(UInt8(ascii: "1"), &buffer) { _ in } }
    static func bindComplete(_ buffer: inout ByteBuffer) { message(UInt8(ascii: "2"), &buffer) { _ in } }
    static func readyForQuery(_ buffer: inout ByteBuffer) { message(UInt8(ascii: "Z"), &buffer) { $0.writeInteger(UInt8(ascii: "I")) } }

    static func commandComplete(_ tag: String, _ buffer: inout ByteBuffer) {
        message(UInt8(ascii: "C"), &buffer) { $0.writeNullTerminatedString(tag) }
    }

    static func dataRow(_ columns: [ByteBuffer?], _ buffer: inout ByteBuffer) {
        message(UInt8(ascii: "D"), &buffer) { body in
            body.writeInteger(Int16(columns.count))
            for column in columns {
                if var column {
                    body.writeInteger(Int32(column.readableBytes))
                    body.writeBuffer(&column)
                } else {
                    body.writeInteger(Int32(-1))
                }
            }
        }
    }

    static func errorResponse(sqlState: String, message text: String, _ buffer: inout ByteBuffer) {
        message(UInt8(ascii: "E"), &buffer) { body in
            for (field, value) in [("S", "FEHLER"), ("V", "ERROR"), ("C", sqlState), ("M", text)] {
                body.writeString(field)
                body.writeNullTerminatedString(value)
            }
            body.writeInteger(UInt8(0))
        }
    }
}
