import NIOCore

/// Writes the extended-query messages a create writer sends (Parse once per connection, then
/// Bind + Execute + Sync per statement) with every parameter and result in binary format. Pure.
struct FrontendMessageEncoder {
    /// Type OIDs of the arrays the create statement binds.
    enum ArrayType: Int32 {
        case int8 = 1016
        case text = 1009
        case bool = 1000
        case int4 = 1007

        var elementOID: Int32 {
            switch self {
            case .int8: 20
            case .text: 25
            case .bool: 16
            case .int4: 23
            }
        }
    }

    /// Parse (a named statement) followed by Sync, so its outcome arrives as one ReadyForQuery.
    static func parseAndSync(statementName: String, sql: String, parameterTypes: [ArrayType], into buffer: inout ByteBuffer) {
        message(UInt8(ascii: "P"), into: &buffer) { buffer in
            buffer.writeNullTerminatedString(statementName)
            buffer.writeNullTerminatedString(sql)
            buffer.writeInteger(Int16(parameterTypes.count))
            for type in parameterTypes { buffer.writeInteger(type.rawValue) }
        }
        sync(into: &buffer)
    }

    /// Bind (unnamed portal, all parameters and results binary), Execute (all rows), Sync.
    /// `writeParameters` writes exactly `parameterCount` values (see ``BinaryArray``).
    static func bindExecuteSync(
        statementName: String, parameterCount: Int, into buffer: inout ByteBuffer,
        _ writeParameters: (inout ByteBuffer) -> Void
    ) {
        bindExecute(statementName: statementName, parameterCount: parameterCount, into: &buffer, writeParameters)
        sync(into: &buffer)
    }

    /// Bind + Execute without Sync: statements up to the next Sync run in one implicit transaction.
    static func bindExecute(
        statementName: String, parameterCount: Int, into buffer: inout ByteBuffer,
        _ writeParameters: (inout ByteBuffer) -> Void
    ) {
        message(UInt8(ascii: "B"), into: &buffer) { buffer in
            buffer.writeNullTerminatedString("")
            buffer.writeNullTerminatedString(statementName)
            buffer.writeInteger(Int16(1))  // one format code for all parameters:
            buffer.writeInteger(Int16(1))  // binary
            buffer.writeInteger(Int16(parameterCount))
            writeParameters(&buffer)
            buffer.writeInteger(Int16(1))  // one result format code:
            buffer.writeInteger(Int16(1))  // binary
        }
        message(UInt8(ascii: "E"), into: &buffer) { buffer in
            buffer.writeNullTerminatedString("")
            buffer.writeInteger(Int32(0))  // no row limit
        }
    }

    static func sync(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "S"))
        buffer.writeInteger(Int32(4))
    }

    /// Writes a message: type byte, then a length counting itself and the body.
    private static func message(_ type: UInt8, into buffer: inout ByteBuffer, _ body: (inout ByteBuffer) -> Void) {
        buffer.writeInteger(type)
        let lengthIndex = buffer.writerIndex
        buffer.writeInteger(Int32(0))
        body(&buffer)
        buffer.setInteger(Int32(buffer.writerIndex - lengthIndex), at: lengthIndex)
    }
}

/// Bind parameters: one-dimensional arrays without nulls, in Postgres' binary array format
/// (dimensions, flags, element type, then length-prefixed elements).
enum BinaryArray {
    static func int8<C: Collection>(_ values: C, into buffer: inout ByteBuffer) where C.Element == Int64 {
        write(.int8, count: values.count, into: &buffer) { buffer in
            for value in values { buffer.writeInteger(Int32(8)); buffer.writeInteger(value) }
        }
    }

    static func int4<C: Collection>(_ values: C, into buffer: inout ByteBuffer) where C.Element == Int32 {
        write(.int4, count: values.count, into: &buffer) { buffer in
            for value in values { buffer.writeInteger(Int32(4)); buffer.writeInteger(value) }
        }
    }

    static func bool<C: Collection>(_ values: C, into buffer: inout ByteBuffer) where C.Element == Bool {
        write(.bool, count: values.count, into: &buffer) { buffer in
            for value in values { buffer.writeInteger(Int32(1)); buffer.writeInteger(UInt8(value ? 1 : 0)) }
        }
    }

    static func text<C: Collection>(_ values: C, into buffer: inout ByteBuffer) where C.Element == String {
        write(.text, count: values.count, into: &buffer) { buffer in
            for value in values {
                let lengthIndex = buffer.writerIndex
                buffer.writeInteger(Int32(0))
                let written = buffer.writeString(value)
                buffer.setInteger(Int32(written), at: lengthIndex)
            }
        }
    }

    private static func write(_ type: FrontendMessageEncoder.ArrayType, count: Int, into buffer: inout ByteBuffer, _ elements: (inout ByteBuffer) -> Void) {
        let lengthIndex = buffer.writerIndex
        buffer.writeInteger(Int32(0))
        buffer.writeInteger(Int32(1))  // dimensions
        buffer.writeInteger(Int32(0))  // flags: no nulls
        buffer.writeInteger(type.elementOID)
        buffer.writeInteger(Int32(count))
        buffer.writeInteger(Int32(1))  // lower bound
        elements(&buffer)
        buffer.setInteger(Int32(buffer.writerIndex - lengthIndex - 4), at: lengthIndex)
    }
}
