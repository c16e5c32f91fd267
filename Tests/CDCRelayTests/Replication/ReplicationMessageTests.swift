import NIOCore
import Testing
@testable import CDCRelay

@Suite("replication stream messages")
struct ReplicationMessageTests {
    @Test func decodesXLogData() throws {
        var bytes = ByteBuffer()
        bytes.tag("w"); bytes.writeInteger(UInt64(0x10)); bytes.writeInteger(UInt64(0x20)); bytes.writeInteger(Int64(12_345))
        bytes.writeString("Bpayload")
        let message = try ReplicationMessage.decode(&bytes)
        #expect(message == .xLogData(XLogData(walStart: LSN(0x10), walEnd: LSN(0x20), sendTime: 12_345, data: ByteBuffer(string: "Bpayload"))))
    }

    @Test func decodesXLogDataWithEmptyPayload() throws {
        var bytes = ByteBuffer()
        bytes.tag("w"); bytes.writeInteger(UInt64(0)); bytes.writeInteger(UInt64(0)); bytes.writeInteger(Int64(0))
        #expect(try ReplicationMessage.decode(&bytes) == .xLogData(XLogData(walStart: LSN(0), walEnd: LSN(0), sendTime: 0, data: ByteBuffer())))
    }

    @Test func decodesKeepalive() throws {
        for reply: UInt8 in [0, 1] {
            var bytes = ByteBuffer()
            bytes.tag("k"); bytes.writeInteger(UInt64(0xABCD)); bytes.writeInteger(Int64(-7)); bytes.writeInteger(reply)
            #expect(try ReplicationMessage.decode(&bytes) == .keepalive(PrimaryKeepalive(walEnd: LSN(0xABCD), sendTime: -7, replyRequested: reply == 1)))
        }
    }

    @Test func skipsUnknownTypes() throws {
        for tag in ["s", "p", "h", "?"] {
            var bytes = ByteBuffer(string: tag + "whatever")
            #expect(try ReplicationMessage.decode(&bytes) == nil)
        }
    }

    @Test func malformedKnownTypesAreErrors() {
        var keepalive = ByteBuffer()
        keepalive.tag("k"); keepalive.writeInteger(UInt64(1)); keepalive.writeInteger(Int64(2)); keepalive.writeInteger(UInt8(1))
        let full = keepalive
        for length in 0..<full.readableBytes {
            var prefix = full.getSlice(at: 0, length: length)!
            let error = #expect(throws: ReplicationError.self) { try ReplicationMessage.decode(&prefix) }
            #expect(error?.code == .protocolViolation)
        }
        var long = full
        long.writeInteger(UInt8(0))
        #expect(throws: ReplicationError.self) { try ReplicationMessage.decode(&long) }
        var badFlag = full
        badFlag.setInteger(UInt8(2), at: 17)
        #expect(throws: ReplicationError.self) { try ReplicationMessage.decode(&badFlag) }

        var xlog = ByteBuffer()
        xlog.tag("w"); xlog.writeInteger(UInt64(1)); xlog.writeInteger(UInt64(1))
        let error = #expect(throws: ReplicationError.self) { try ReplicationMessage.decode(&xlog) }
        #expect(error?.code == .protocolViolation)
    }

    @Test func encodesStandbyStatusUpdate() {
        let update = StandbyStatusUpdate(written: LSN(0x0102_0304_0506_0708), flushed: LSN(0x10), applied: LSN(0x20), clientTime: 0x7F, replyRequested: true)
        let bytes = update.encoded()
        #expect(bytes.count == 34)
        #expect(bytes == [UInt8(ascii: "r"), 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0x7F, 1])
        let confirming = StandbyStatusUpdate(confirming: LSN(9), clientTime: 1)
        #expect(confirming.written == LSN(9) && confirming.flushed == LSN(9) && confirming.applied == LSN(9))
        #expect(confirming.encoded().last == 0)
    }

    @Test func connectionStringQuotesEveryValue() {
        let configuration = ReplicationConfiguration(
            host: "db.example", port: 6543, user: "re'pl", password: #"p\ss w'rd"#, database: "my db",
            sslMode: "require", slotName: "s", publicationName: "p", applicationName: "relay"
        )
        let conninfo = configuration.connectionString
        #expect(conninfo.contains("host='db.example'"))
        #expect(conninfo.contains("port='6543'"))
        #expect(conninfo.contains(#"user='re\'pl'"#))
        #expect(conninfo.contains(#"password='p\\ss w\'rd'"#))
        #expect(conninfo.contains("dbname='my db'"))
        #expect(conninfo.contains("sslmode='require'"))
        #expect(conninfo.contains("replication='database'"))
        #expect(!ReplicationConfiguration(host: "h", user: "u", database: "d", slotName: "s", publicationName: "p").connectionString.contains("password"))
    }

    @Test func startReplicationCommand() {
        var configuration = ReplicationConfiguration(host: "h", user: "u", database: "d", slotName: "outbox_relay", publicationName: "Outbox\"Pub")
        #expect(configuration.startReplicationCommand(from: LSN(0x1_0000_0010))
            == #"START_REPLICATION SLOT "outbox_relay" LOGICAL 1/10 (proto_version '1', publication_names '"Outbox""Pub"')"#)
        configuration.protocolVersion = 2
        configuration.binary = true
        configuration.messages = true
        configuration.publicationName = "it's"
        #expect(configuration.startReplicationCommand(from: .zero)
            == #"START_REPLICATION SLOT "outbox_relay" LOGICAL 0/0 (proto_version '2', publication_names '"it''s"', binary 'true', messages 'true')"#)
    }

    @Test func classifiesServerErrors() {
        #expect(ReplicationError.classify(sqlState: "55006", message: "replication slot \"s\" is active for PID 4", default: .queryFailed) == .slotBusy)
        #expect(ReplicationError.classify(sqlState: "42704", message: "replication slot \"s\" does not exist", default: .queryFailed) == .slotVanished)
        #expect(ReplicationError.classify(sqlState: "55000", message: "can no longer get changes from replication slot \"s\": This slot has been invalidated", default: .queryFailed) == .slotLost)
        #expect(ReplicationError.classify(sqlState: "57P01", message: "terminating connection due to administrator command", default: .copyEnded) == .connectionLost)
        #expect(ReplicationError.classify(sqlState: "42601", message: "syntax error", default: .queryFailed) == .queryFailed)
        #expect(ReplicationError.classify(sqlState: nil, message: "", default: .copyEnded) == .copyEnded)
    }
}
