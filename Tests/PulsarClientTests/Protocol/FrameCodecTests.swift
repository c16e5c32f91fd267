import Foundation
import NIOCore
import Testing
@testable import PulsarClient

@Suite struct FrameCodecTests {
    func decodeAll(_ bytes: ByteBuffer, decoder: PulsarFrameDecoder = .init()) throws -> [PulsarFrame] {
        var decoder = decoder
        var buffer = bytes
        var frames: [PulsarFrame] = []
        while let frame = try decoder.decode(buffer: &buffer) { frames.append(frame) }
        return frames
    }

    func expectError(_ code: PulsarFrameError.Code, _ bytes: ByteBuffer, decoder: PulsarFrameDecoder = .init(), sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try decodeAll(bytes, decoder: decoder)
            Issue.record("expected \(code), decoded fine", sourceLocation: sourceLocation)
        } catch let error as PulsarFrameError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("untyped error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func simpleCommandRoundTrip() throws {
        let frames = try decodeAll(FrameFixtures.simpleFrame(PulsarCommands.ping()))
        #expect(frames.count == 1)
        #expect(frames[0].command.type == .ping)
        #expect(frames[0].payload == nil)
    }

    @Test func simpleFrameLayout() throws {
        let bytes = FrameFixtures.simpleFrame(PulsarCommands.ping())
        // PING: type field (08 12) and an empty ping sub-message (92 01 00).
        #expect(Array(bytes.readableBytesView) == [0, 0, 0, 9, 0, 0, 0, 5, 0x08, 0x12, 0x92, 0x01, 0x00])
    }

    @Test func payloadCommandRoundTrip() throws {
        let frames = try decodeAll(FrameFixtures.payloadFrame(payload: Array("hello".utf8), sequenceID: 42))
        let frame = try #require(frames.first)
        #expect(frame.command.type == .send)
        #expect(frame.command.send.sequenceID == 42)
        let payload = try #require(frame.payload)
        #expect(payload.metadata.sequenceID == 42)
        #expect(payload.metadata.producerName == "p")
        #expect(String(buffer: payload.body) == "hello")
    }

    @Test func checksumCoversMetadataSizeThroughEnd() throws {
        let bytes = FrameFixtures.payloadFrame()
        let commandSize = Int(try #require(bytes.getInteger(at: 4, as: UInt32.self)))
        let magicIndex = 8 + commandSize
        #expect(bytes.getInteger(at: magicIndex, as: UInt16.self) == 0x0e01)
        let stored = bytes.getInteger(at: magicIndex + 2, as: UInt32.self)
        let start = magicIndex + 6
        #expect(stored == CRC32C.checksum(bytes, at: start, length: bytes.writerIndex - start))
    }

    @Test func manyFramesInOneBufferAndByteByByte() throws {
        var all = ByteBuffer()
        for i in 0..<10 {
            var frame = i.isMultiple(of: 2) ? FrameFixtures.payloadFrame(sequenceID: UInt64(i)) : FrameFixtures.simpleFrame(PulsarCommands.pong())
            all.writeBuffer(&frame)
        }
        #expect(try decodeAll(all).count == 10)

        var decoder = PulsarFrameDecoder()
        var cumulation = ByteBuffer()
        var count = 0
        for byte in all.readableBytesView {
            cumulation.writeInteger(byte)
            while try decoder.decode(buffer: &cumulation) != nil { count += 1 }
        }
        #expect(count == 10)
        #expect(cumulation.readableBytes == 0)
    }

    @Test func skipsBrokerEntryMetadata() throws {
        // Rebuild a payload frame with 0x0e02 + BrokerEntryMetadata inserted before the magic.
        let original = FrameFixtures.payloadFrame(payload: Array("x".utf8))
        let commandSize = Int(try #require(original.getInteger(at: 4, as: UInt32.self)))
        var entry = Pulsar_Proto_BrokerEntryMetadata()
        entry.brokerTimestamp = 123
        entry.index = 9
        let entryBytes: [UInt8] = try entry.serializedBytes()
        var rebuilt = ByteBuffer()
        let insertion = 2 + 4 + entryBytes.count
        rebuilt.writeInteger(UInt32(original.readableBytes - 4 + insertion))
        rebuilt.writeBytes(original.getBytes(at: 4, length: 4 + commandSize) ?? [])
        rebuilt.writeInteger(UInt16(0x0e02))
        rebuilt.writeInteger(UInt32(entryBytes.count))
        rebuilt.writeBytes(entryBytes)
        rebuilt.writeBytes(original.getBytes(at: 8 + commandSize, length: original.readableBytes - 8 - commandSize) ?? [])
        let frame = try #require(try decodeAll(rebuilt).first)
        #expect(frame.payload?.brokerEntryMetadata?.index == 9)
        #expect(frame.payload.map { String(buffer: $0.body) } == "x")
    }

    @Test func waitsForCompleteFrame() throws {
        var decoder = PulsarFrameDecoder()
        var partial = FrameFixtures.payloadFrame()
        partial.moveWriterIndex(to: partial.writerIndex - 1)
        #expect(try decoder.decode(buffer: &partial) == nil)
        #expect(partial.readerIndex == 0)
    }

    @Test func truncatedAtEOF() {
        var decoder = PulsarFrameDecoder()
        var partial = FrameFixtures.payloadFrame()
        partial.moveWriterIndex(to: partial.writerIndex - 3)
        #expect(throws: PulsarFrameError.self) { try decoder.decodeLast(buffer: &partial, seenEOF: true) }
    }

    @Test func commandSizeBeyondFrameIsTruncated() {
        var bytes = FrameFixtures.simpleFrame(PulsarCommands.ping())
        bytes.setInteger(UInt32(50), at: 4)
        expectError(.truncated, bytes)
    }

    @Test func metadataSizeBeyondFrameIsTruncated() throws {
        var bytes = FrameFixtures.payloadFrame()
        let commandSize = Int(try #require(bytes.getInteger(at: 4, as: UInt32.self)))
        let metadataSizeIndex = 8 + commandSize + 6
        bytes.setInteger(UInt32(10_000), at: metadataSizeIndex)
        // Fix the checksum so the size check, not the CRC, is what fails.
        let start = metadataSizeIndex
        let crc = try #require(CRC32C.checksum(bytes, at: start, length: bytes.writerIndex - start))
        bytes.setInteger(crc, at: metadataSizeIndex - 4)
        expectError(.truncated, bytes)
    }

    @Test func badMagic() throws {
        var bytes = FrameFixtures.payloadFrame()
        let commandSize = Int(try #require(bytes.getInteger(at: 4, as: UInt32.self)))
        bytes.setInteger(UInt16(0x0e03), at: 8 + commandSize)
        expectError(.badMagic, bytes)
    }

    @Test func badChecksum() {
        var bytes = FrameFixtures.payloadFrame(payload: Array("hello".utf8))
        let last = bytes.writerIndex - 1
        bytes.setInteger(UInt8(ascii: "X"), at: last)
        expectError(.badChecksum, bytes)
    }

    @Test func oversizedFrameFailsBeforeBuffering() {
        var bytes = ByteBuffer()
        bytes.writeInteger(UInt32(6 * 1024 * 1024))
        expectError(.oversized, bytes)
    }

    @Test func limitFollowsBrokerMaxMessageSize() throws {
        var decoder = PulsarFrameDecoder()
        decoder.setMaxMessageSize(100)
        var big = FrameFixtures.payloadFrame(payload: [UInt8](repeating: 1, count: 100 + PulsarFrameConstants.framePadding))
        #expect(throws: PulsarFrameError.self) { try decoder.decode(buffer: &big) }
        var small = FrameFixtures.payloadFrame(payload: [UInt8](repeating: 1, count: 100))
        #expect(try decoder.decode(buffer: &small) != nil)
    }

    @Test func tinyTotalSizeIsGarbage() {
        expectError(.garbage, ByteBuffer(bytes: [0, 0, 0, 2, 0, 0]))
        expectError(.garbage, ByteBuffer(bytes: [0, 0, 0, 4, 0, 0, 0, 0]))
    }

    @Test func unparsableCommand() {
        var bytes = ByteBuffer()
        bytes.writeInteger(UInt32(4 + 5))
        bytes.writeInteger(UInt32(5))
        bytes.writeBytes([0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        expectError(.invalidCommand, bytes)
    }

    @Test func commandWithoutTypeIsInvalid() throws {
        // A Ping sub-message without the required `type` field.
        var bytes = ByteBuffer()
        bytes.writeInteger(UInt32(4 + 3))
        bytes.writeInteger(UInt32(3))
        bytes.writeBytes([0x92, 0x01, 0x00])
        expectError(.invalidCommand, bytes)
    }

    @Test func unparsableMetadata() throws {
        let command: [UInt8] = try FrameFixtures.sendCommand().serializedBytes()
        let metadata: [UInt8] = [0xFF, 0xFF, 0xFF]
        var section = ByteBuffer()
        section.writeInteger(UInt32(metadata.count))
        section.writeBytes(metadata)
        var bytes = ByteBuffer()
        bytes.writeInteger(UInt32(4 + command.count + 6 + section.readableBytes))
        bytes.writeInteger(UInt32(command.count))
        bytes.writeBytes(command)
        bytes.writeInteger(UInt16(0x0e01))
        bytes.writeInteger(CRC32C.checksum(section))
        bytes.writeBuffer(&section)
        expectError(.invalidMetadata, bytes)
    }
}

@Suite struct SendFrameEncoderTests {
    func decode(_ bytes: ByteBuffer) throws -> PulsarFrame {
        var decoder = PulsarFrameDecoder()
        var buffer = bytes
        let frame = try #require(try decoder.decode(buffer: &buffer))
        #expect(buffer.readableBytes == 0)
        return frame
    }

    @Test func minimalSendMatchesProtobuf() throws {
        let fields = SendFrameFields(producerID: 3, sequenceID: 0, producerName: "relay", publishTime: 1_700_000_000_123)
        var fast = ByteBuffer()
        SendFrameEncoder.write(fields, payload: ByteBuffer(string: "abc"), into: &fast)
        var metadata = Pulsar_Proto_MessageMetadata()
        metadata.producerName = "relay"
        metadata.sequenceID = 0
        metadata.publishTime = 1_700_000_000_123
        var reference = ByteBuffer()
        try PulsarFrameEncoder.writePayloadCommand(
            PulsarCommands.send(producerID: 3, sequenceID: 0, highestSequenceID: nil, numMessages: 1),
            metadata: metadata, payload: ByteBuffer(string: "abc"), into: &reference)
        #expect(fast == reference)
    }

    @Test func everyFieldRoundTrips() throws {
        var fields = SendFrameFields(producerID: 300, sequenceID: 1 << 40, producerName: "prödücer", publishTime: 1_700_000_000_000)
        fields.highestSequenceID = (1 << 40) + 99
        fields.numMessages = 100
        fields.numMessagesInBatch = 100
        fields.properties = [("a", "1"), ("event_id", String(repeating: "x", count: 200))]
        fields.partitionKey = "aggregate-42"
        fields.compression = .zlib
        fields.uncompressedSize = 12345
        fields.eventTime = 1_690_000_000_000
        var bytes = ByteBuffer()
        SendFrameEncoder.write(fields, payload: ByteBuffer(repeating: 7, count: 1000), into: &bytes)
        let frame = try decode(bytes)
        #expect(frame.command.type == .send)
        let send = frame.command.send
        #expect(send.producerID == 300)
        #expect(send.sequenceID == 1 << 40)
        #expect(send.highestSequenceID == (1 << 40) + 99)
        #expect(send.numMessages == 100)
        let metadata = try #require(frame.payload?.metadata)
        #expect(metadata.producerName == "prödücer")
        #expect(metadata.sequenceID == 1 << 40)
        #expect(metadata.highestSequenceID == (1 << 40) + 99)
        #expect(metadata.publishTime == 1_700_000_000_000)
        #expect(metadata.properties.map(\.key) == ["a", "event_id"])
        #expect(metadata.properties.last?.value.count == 200)
        #expect(metadata.partitionKey == "aggregate-42")
        #expect(metadata.compression == .zlib)
        #expect(metadata.uncompressedSize == 12345)
        #expect(metadata.numMessagesInBatch == 100)
        #expect(metadata.eventTime == 1_690_000_000_000)
        #expect(frame.payload?.body.readableBytes == 1000)
        #expect(metadata.unknownFields.data.isEmpty)
    }

    @Test func varintBoundaries() {
        for value: UInt64 in [0, 127, 128, 16383, 16384, UInt64(UInt32.max), UInt64.max] {
            var buffer = ByteBuffer()
            SendFrameEncoder.writeVarint(value, into: &buffer)
            #expect(buffer.readableBytes == SendFrameEncoder.varintSize(value))
            var decoded: UInt64 = 0
            var shift: UInt64 = 0
            while let byte = buffer.readInteger(as: UInt8.self) {
                decoded |= UInt64(byte & 0x7F) << shift
                shift += 7
            }
            #expect(decoded == value)
        }
    }
}

@Suite struct ZlibTests {
    @Test func roundTrip() throws {
        let input = ByteBuffer(string: String(repeating: "outbox event ", count: 500))
        let compressed = try ZlibCompression.compress(input)
        #expect(compressed.readableBytes < input.readableBytes / 4)
        // zlib header (CMF 0x78) as the Java Inflater expects.
        #expect(compressed.getInteger(at: compressed.readerIndex, as: UInt8.self) == 0x78)
        let restored = try ZlibCompression.decompress(compressed, uncompressedSize: input.readableBytes)
        #expect(restored == input)
    }

    @Test func corruptInputIsATypedError() {
        #expect(throws: PulsarFrameError.self) {
            try ZlibCompression.decompress(ByteBuffer(bytes: [1, 2, 3, 4]), uncompressedSize: 10)
        }
        #expect(throws: PulsarFrameError.self) {
            let compressed = try ZlibCompression.compress(ByteBuffer(string: "hello"))
            _ = try ZlibCompression.decompress(compressed, uncompressedSize: 3)
        }
    }
}
