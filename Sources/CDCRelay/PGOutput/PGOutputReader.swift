import NIOCore

/// Reads the fields of one pgoutput message and turns every shortfall into a `PGOutputError`
/// carrying the offset inside the message and the message tag.
struct PGOutputReader {
    var buffer: ByteBuffer
    let startIndex: Int
    var tag: UInt8?

    init(buffer: ByteBuffer) {
        self.buffer = buffer
        self.startIndex = buffer.readerIndex
        self.tag = nil
    }

    var offset: Int { buffer.readerIndex - startIndex }

    func error(_ code: PGOutputError.Code, _ detail: String = "") -> PGOutputError {
        PGOutputError(code: code, offset: offset, messageTag: tag, detail: detail)
    }

    mutating func readUInt8(_ field: StaticString) throws(PGOutputError) -> UInt8 {
        guard let value = buffer.readInteger(as: UInt8.self) else { throw error(.truncated, "\(field)") }
        return value
    }

    mutating func readUInt32(_ field: StaticString) throws(PGOutputError) -> UInt32 {
        guard let value = buffer.readInteger(as: UInt32.self) else { throw error(.truncated, "\(field)") }
        return value
    }

    mutating func readInt32(_ field: StaticString) throws(PGOutputError) -> Int32 {
        guard let value = buffer.readInteger(as: Int32.self) else { throw error(.truncated, "\(field)") }
        return value
    }

    mutating func readInt64(_ field: StaticString) throws(PGOutputError) -> Int64 {
        guard let value = buffer.readInteger(as: Int64.self) else { throw error(.truncated, "\(field)") }
        return value
    }

    mutating func readLSN(_ field: StaticString) throws(PGOutputError) -> LSN {
        guard let value = buffer.readInteger(as: UInt64.self) else { throw error(.truncated, "\(field)") }
        return LSN(value)
    }

    /// A non-negative Int16 count.
    mutating func readCount16(_ field: StaticString) throws(PGOutputError) -> Int {
        guard let value = buffer.readInteger(as: Int16.self) else { throw error(.truncated, "\(field)") }
        guard value >= 0 else { throw error(.negativeLength, "\(field) = \(value)") }
        return Int(value)
    }

    /// A non-negative Int32 length or count.
    mutating func readLength32(_ field: StaticString) throws(PGOutputError) -> Int {
        guard let value = buffer.readInteger(as: Int32.self) else { throw error(.truncated, "\(field)") }
        guard value >= 0 else { throw error(.negativeLength, "\(field) = \(value)") }
        return Int(value)
    }

    mutating func readSlice(length: Int, _ field: StaticString) throws(PGOutputError) -> ByteBuffer {
        guard let slice = buffer.readSlice(length: length) else {
            throw error(.truncated, "\(field): \(length) bytes announced, \(buffer.readableBytes) left")
        }
        return slice
    }

    /// A NUL-terminated UTF-8 string.
    mutating func readCString(_ field: StaticString) throws(PGOutputError) -> String {
        let view = buffer.readableBytesView
        guard let nul = view.firstIndex(of: 0) else { throw error(.missingStringTerminator, "\(field)") }
        guard let string = String(validating: view[view.startIndex..<nul], as: UTF8.self) else {
            throw error(.invalidUTF8, "\(field)")
        }
        buffer.moveReaderIndex(forwardBy: nul - view.startIndex + 1)
        return string
    }

    mutating func readTupleData() throws(PGOutputError) -> TupleData {
        let count = try readCount16("TupleData column count")
        var columns: [TupleValue] = []
        // Every column takes at least one byte: don't let a forged count reserve memory.
        columns.reserveCapacity(min(count, buffer.readableBytes))
        for _ in 0..<count {
            let kind = try readUInt8("TupleData column kind")
            switch kind {
            case UInt8(ascii: "n"):
                columns.append(.null)
            case UInt8(ascii: "u"):
                columns.append(.unchangedToast)
            case UInt8(ascii: "t"):
                let length = try readLength32("text column length")
                columns.append(.text(try readSlice(length: length, "text column")))
            case UInt8(ascii: "b"):
                let length = try readLength32("binary column length")
                columns.append(.binary(try readSlice(length: length, "binary column")))
            default:
                buffer.moveReaderIndex(to: buffer.readerIndex - 1)
                throw error(.unknownTupleKind, "column kind byte \(kind)")
            }
        }
        return TupleData(columns: columns)
    }
}
