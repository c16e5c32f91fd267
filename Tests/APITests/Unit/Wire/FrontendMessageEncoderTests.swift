import NIOCore
import Testing
@testable import API

struct FrontendMessageEncoderTests {
    @Test func parseNamesTheStatementAndItsArrayTypesThenSyncs() throws {
        var buffer = ByteBuffer()
        FrontendMessageEncoder.parseAndSync(statementName: "s1", sql: "SELECT $1", parameterTypes: [.int8, .text], into: &buffer)
        var expected = ByteBuffer()
        expected.writeInteger(UInt8(ascii: "P"))
        expected.writeInteger(Int32(4 + 3 + 10 + 2 + 8))
        expected.writeNullTerminatedString("s1")
        expected.writeNullTerminatedString("SELECT $1")
        expected.writeInteger(Int16(2))
        expected.writeInteger(Int32(1016))
        expected.writeInteger(Int32(1009))
        expected.writeInteger(UInt8(ascii: "S"))
        expected.writeInteger(Int32(4))
        #expect(buffer == expected)
    }

    @Test func bindCarriesBinaryArraysThenExecuteAndSync() throws {
        var buffer = ByteBuffer()
        FrontendMessageEncoder.bindExecuteSync(statementName: "s1", parameterCount: 2, into: &buffer) { parameters in
            BinaryArray.int8([7, -1], into: &parameters)
            BinaryArray.text(["é", ""], into: &parameters)
        }
        var expected = ByteBuffer()
        expected.writeInteger(UInt8(ascii: "B"))
        let lengthIndex = expected.writerIndex
        expected.writeInteger(Int32(0))
        expected.writeNullTerminatedString("")
        expected.writeNullTerminatedString("s1")
        for value: Int16 in [1, 1, 2] { expected.writeInteger(value) }  // one format (binary), 2 parameters
        // int8[]: length, 1 dimension, no nulls, element OID 20, 2 elements from index 1, elements.
        for value: Int32 in [20 + 2 * 12, 1, 0, 20, 2, 1, 8] { expected.writeInteger(value) }
        expected.writeInteger(Int64(7))
        expected.writeInteger(Int32(8))
        expected.writeInteger(Int64(-1))
        // text[]: element OID 25, UTF-8 bytes.
        for value: Int32 in [20 + 4 + 2 + 4, 1, 0, 25, 2, 1, 2] { expected.writeInteger(value) }
        expected.writeString("é")
        expected.writeInteger(Int32(0))
        for value: Int16 in [1, 1] { expected.writeInteger(value) }  // binary results
        expected.setInteger(Int32(expected.writerIndex - lengthIndex), at: lengthIndex)
        // Execute of the unnamed portal without a row limit, then Sync.
        expected.writeInteger(UInt8(ascii: "E"))
        expected.writeInteger(Int32(9))
        expected.writeInteger(UInt8(0))
        expected.writeInteger(Int32(0))
        expected.writeInteger(UInt8(ascii: "S"))
        expected.writeInteger(Int32(4))
        #expect(buffer == expected)
    }

    @Test func writerSettingsQuoteConninfoValuesAndEscapeOptions() {
        let settings = CreateWriterSettings(
            host: "db", port: 5433, username: "o'neil", password: #"p\w d"#, database: "app",
            runtimeParameters: [.init(name: "search_path", value: "a b")], connectTimeout: .milliseconds(500)
        )
        #expect(settings.conninfo == #"host='db' port='5433' user='o\'neil' dbname='app' sslmode='disable' gssencmode='disable' application_name='products-api-writer' connect_timeout='2' password='p\\w d' options='-c search_path=a\\ b'"#)
    }
}
