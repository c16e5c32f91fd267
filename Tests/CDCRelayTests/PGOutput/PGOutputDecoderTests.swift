import NIOCore
import Testing
@testable import CDCRelay

@Suite("pgoutput decoder")
struct PGOutputDecoderTests {
    @Test("every message type round-trips", arguments: pgOutputSamples)
    func roundTrip(sample: PGOutputSample) throws {
        var decoder = try sample.decoder()
        var bytes = sample.bytes
        let decoded = try decoder.decode(&bytes)
        #expect(decoded == sample.message)
        #expect(bytes.readableBytes == 0)
    }

    @Test("a message cut at any byte is a typed error", arguments: pgOutputSamples.filter { $0.name != "stream abort v4" })
    func truncatedAtEveryByte(sample: PGOutputSample) throws {
        let full = sample.bytes
        for length in 0..<full.readableBytes {
            var decoder = try sample.decoder()
            var prefix = full.getSlice(at: full.readerIndex, length: length)!
            let error = #expect(throws: PGOutputError.self, "\(sample) cut at \(length)") { try decoder.decode(&prefix) }
            let expected: Set<PGOutputError.Code> = length == 0 ? [.emptyMessage] : [.truncated, .missingStringTerminator]
            #expect(error.map { expected.contains($0.code) } == true, "\(sample) cut at \(length): \(String(describing: error))")
            #expect(error.map { $0.offset <= length } == true)
            if length > 0 { #expect(error?.messageTag == full.getInteger(at: full.readerIndex, as: UInt8.self)) }
            // A failed decode must not change the streaming state.
            #expect(decoder.isInStreamedBlock == sample.inStream)
        }
    }

    @Test("leftover bytes after a message are an error", arguments: pgOutputSamples)
    func trailingBytes(sample: PGOutputSample) throws {
        var decoder = try sample.decoder()
        var bytes = sample.bytes
        bytes.writeInteger(UInt8(0))
        let error = #expect(throws: PGOutputError.self) { try decoder.decode(&bytes) }
        #expect(error?.code == .trailingBytes)
        #expect(error?.offset == bytes.readableBytes - 1)
    }

    @Test func unknownTag() {
        var decoder = PGOutputDecoder(protocolVersion: 4)
        var bytes = ByteBuffer(bytes: [UInt8(ascii: "Z"), 0, 0])
        let error = #expect(throws: PGOutputError.self) { try decoder.decode(&bytes) }
        #expect(error == PGOutputError(code: .unknownMessageTag, offset: 0, messageTag: UInt8(ascii: "Z"), detail: "tag byte 90"))
    }

    @Test func negativeTupleColumnCount() {
        var bytes = ByteBuffer()
        bytes.tag("I"); bytes.writeInteger(UInt32(1)); bytes.tag("N"); bytes.writeInteger(Int16(-1))
        expectError(.negativeLength, at: 6, in: bytes)
    }

    @Test func negativeTextLength() {
        var bytes = ByteBuffer()
        bytes.tag("I"); bytes.writeInteger(UInt32(1)); bytes.tag("N"); bytes.writeInteger(Int16(1))
        bytes.tag("t"); bytes.writeInteger(Int32(-5)); bytes.writeString("hello")
        expectError(.negativeLength, at: 9, in: bytes)
    }

    @Test func negativeBinaryLength() {
        var bytes = ByteBuffer()
        bytes.tag("I"); bytes.writeInteger(UInt32(1)); bytes.tag("N"); bytes.writeInteger(Int16(1))
        bytes.tag("b"); bytes.writeInteger(Int32.min)
        expectError(.negativeLength, at: 9, in: bytes)
    }

    @Test func negativeRelationColumnCount() {
        var bytes = ByteBuffer()
        bytes.tag("R"); bytes.writeInteger(UInt32(1)); bytes.cstring("public"); bytes.cstring("t"); bytes.tag("d")
        bytes.writeInteger(Int16(-3))
        expectError(.negativeLength, at: 15, in: bytes)
    }

    @Test func negativeTruncateCount() {
        var bytes = ByteBuffer()
        bytes.tag("T"); bytes.writeInteger(Int32(-1)); bytes.writeInteger(UInt8(0))
        expectError(.negativeLength, at: 1, in: bytes)
    }

    @Test func negativeMessageLength() {
        var bytes = ByteBuffer()
        bytes.tag("M"); bytes.writeInteger(UInt8(1)); bytes.writeInteger(UInt64(5)); bytes.cstring("p"); bytes.writeInteger(Int32(-1))
        expectError(.negativeLength, at: 12, in: bytes)
    }

    @Test func forgedHugeCountsFailWithoutAllocating() {
        var tupleBytes = ByteBuffer()
        tupleBytes.tag("I"); tupleBytes.writeInteger(UInt32(1)); tupleBytes.tag("N"); tupleBytes.writeInteger(Int16.max)
        expectError(.truncated, at: 8, in: tupleBytes)
        var truncateBytes = ByteBuffer()
        truncateBytes.tag("T"); truncateBytes.writeInteger(Int32.max); truncateBytes.writeInteger(UInt8(0)); truncateBytes.writeInteger(UInt32(1))
        expectError(.truncated, at: 6, in: truncateBytes)
    }

    @Test func missingStringTerminator() {
        var bytes = ByteBuffer()
        bytes.tag("R"); bytes.writeInteger(UInt32(1)); bytes.cstring("public"); bytes.writeString("outbox")
        expectError(.missingStringTerminator, at: 12, in: bytes)
    }

    @Test func invalidUTF8InString() {
        var bytes = ByteBuffer()
        bytes.tag("O"); bytes.writeInteger(UInt64(1)); bytes.writeBytes([0xC3, 0x28, 0])
        expectError(.invalidUTF8, at: 9, in: bytes)
    }

    @Test func unknownTupleKind() {
        var bytes = ByteBuffer()
        bytes.tag("I"); bytes.writeInteger(UInt32(1)); bytes.tag("N"); bytes.writeInteger(Int16(2)); bytes.tag("n"); bytes.tag("x")
        expectError(.unknownTupleKind, at: 9, in: bytes)
    }

    @Test func insertWithoutNewTupleMarker() {
        var bytes = ByteBuffer()
        bytes.tag("I"); bytes.writeInteger(UInt32(1)); bytes.tag("K"); bytes.writeInteger(Int16(0))
        expectError(.unexpectedTupleMarker, at: 5, in: bytes)
    }

    @Test func updateWithBadMarker() {
        var bytes = ByteBuffer()
        bytes.tag("U"); bytes.writeInteger(UInt32(1)); bytes.tag("K"); bytes.writeInteger(Int16(0)); bytes.tag("K"); bytes.writeInteger(Int16(0))
        expectError(.unexpectedTupleMarker, at: 8, in: bytes)
    }

    @Test func deleteWithNewTupleMarker() {
        var bytes = ByteBuffer()
        bytes.tag("D"); bytes.writeInteger(UInt32(1)); bytes.tag("N"); bytes.writeInteger(Int16(0))
        expectError(.unexpectedTupleMarker, at: 5, in: bytes)
    }

    @Test func messagesNeedTheirProtocolVersion() {
        let streaming: [PGOutputMessage] = [
            .streamStart(StreamStartMessage(xid: 1, isFirstSegment: false)),
            .streamCommit(StreamCommitMessage(xid: 1, flags: 0, commitLSN: LSN(1), endLSN: LSN(2), commitTimestamp: 3)),
            .streamAbort(StreamAbortMessage(xid: 1, subtransactionXid: 1)),
        ]
        for message in streaming {
            expectError(.unsupportedInProtocolVersion, at: 1, in: PGOutputTestEncoder.encode(message), version: 1)
        }
        for sample in pgOutputSamples where sample.protocolVersion == 3 {
            expectError(.unsupportedInProtocolVersion, at: 1, in: sample.bytes, version: 2)
        }
    }

    @Test func streamBlocksMustNest() throws {
        var decoder = PGOutputDecoder(protocolVersion: 2)
        var stop = PGOutputTestEncoder.encode(.streamStop)
        let stray = #expect(throws: PGOutputError.self) { try decoder.decode(&stop) }
        #expect(stray?.code == .unexpectedStreamState)

        var start = PGOutputTestEncoder.encode(.streamStart(StreamStartMessage(xid: 3, isFirstSegment: true)))
        _ = try decoder.decode(&start)
        #expect(decoder.isInStreamedBlock)
        var again = PGOutputTestEncoder.encode(.streamStart(StreamStartMessage(xid: 3, isFirstSegment: false)))
        let nested = #expect(throws: PGOutputError.self) { try decoder.decode(&again) }
        #expect(nested?.code == .unexpectedStreamState)

        // Inside the block the xid is read; after Stop it is not.
        var insert = PGOutputTestEncoder.encode(.insert(InsertMessage(xid: 3, relationOID: 9, newTuple: TupleData(columns: []))))
        #expect(try decoder.decode(&insert) == .insert(InsertMessage(xid: 3, relationOID: 9, newTuple: TupleData(columns: []))))
        var stopAgain = PGOutputTestEncoder.encode(.streamStop)
        #expect(try decoder.decode(&stopAgain) == .streamStop)
        var plain = PGOutputTestEncoder.encode(.insert(InsertMessage(xid: nil, relationOID: 9, newTuple: TupleData(columns: []))))
        #expect(try decoder.decode(&plain) == .insert(InsertMessage(xid: nil, relationOID: 9, newTuple: TupleData(columns: []))))
        decoder.reset()
        #expect(!decoder.isInStreamedBlock)
    }

    private func expectError(
        _ code: PGOutputError.Code, at offset: Int, in bytes: ByteBuffer, version: Int = 1,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        var decoder = PGOutputDecoder(protocolVersion: version)
        var copy = bytes
        let error = #expect(throws: PGOutputError.self, sourceLocation: sourceLocation) { try decoder.decode(&copy) }
        #expect(error?.code == code, sourceLocation: sourceLocation)
        #expect(error?.offset == offset, sourceLocation: sourceLocation)
        #expect(error?.messageTag == bytes.getInteger(at: bytes.readerIndex, as: UInt8.self), sourceLocation: sourceLocation)
    }
}
