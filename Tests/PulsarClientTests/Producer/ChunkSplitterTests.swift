import NIOCore
import Testing
@testable import PulsarClient

@Suite struct ChunkSplitterTests {
    func decode(_ bytes: ByteBuffer, maxFrameSize: Int = 64 << 20) throws -> PulsarFrame {
        var decoder = PulsarFrameDecoder(maxFrameSize: maxFrameSize)
        var buffer = bytes
        let frame = try #require(try decoder.decode(buffer: &buffer))
        #expect(buffer.readableBytes == 0)
        return frame
    }

    func payload(_ size: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        for index in 0..<size { buffer.writeInteger(UInt8(truncatingIfNeeded: index &* 31 &+ index >> 8)) }
        return buffer
    }

    @Test func rangesCoverThePayloadExactlyOnceInOrder() {
        let splitter = ChunkSplitter(maxMessageSize: 1000, headerSize: 100)
        #expect(splitter.chunkSize == 900)
        #expect(splitter.ranges(totalSize: 0) == [])
        #expect(splitter.ranges(totalSize: 900) == [0..<900])
        #expect(splitter.ranges(totalSize: 901) == [0..<900, 900..<901])
        #expect(splitter.ranges(totalSize: 2700) == [0..<900, 900..<1800, 1800..<2700])
        for size in [1, 899, 900, 901, 1799, 1800, 1801, 12_345] {
            let ranges = splitter.ranges(totalSize: size)
            #expect(ranges.count == splitter.chunkCount(totalSize: size))
            #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == size)
            #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
            #expect(ranges.allSatisfy { $0.count <= 900 && !$0.isEmpty })
        }
    }

    @Test func headersLargerThanTheLimitStillMakeProgress() {
        #expect(ChunkSplitter(maxMessageSize: 100, headerSize: 500).chunkSize == 1)
    }

    @Test func uuidIsProducerNameAndSequenceID() {
        #expect(ChunkSplitter.uuid(producerName: "relay-1", sequenceID: 42) == "relay-1-42")
    }

    @Test func aMessageThatFitsIsOneFrameWithoutChunkFields() throws {
        let builder = SendFrameBuilder(producerID: 1, producerName: "p", compression: .none)
        let frames = try builder.frames(PulsarOutgoingMessage(payload: payload(900)), sequenceID: 5, publishTime: 9, maxMessageSize: 1000, chunking: true)
        #expect(frames.count == 1)
        let frame = try decode(frames[0])
        #expect(!frame.command.send.hasIsChunk)
        #expect(frame.payload?.metadata.hasUuid == false)
        #expect(frame.payload?.metadata.hasNumChunksFromMsg == false)
    }

    /// The whole frame (length prefix included) must fit the limit: one byte more is chunked.
    @Test func theLimitIsTheWholeFrame() throws {
        let builder = SendFrameBuilder(producerID: 1, producerName: "p", compression: .none)
        let overhead = try builder.single(PulsarOutgoingMessage(payload: payload(0)), sequenceID: 5, publishTime: 9).readableBytes
        let fitting = try builder.frames(PulsarOutgoingMessage(payload: payload(4096 - overhead)), sequenceID: 5, publishTime: 9, maxMessageSize: 4096, chunking: true)
        #expect(fitting.count == 1 && fitting[0].readableBytes == 4096)
        let above = try builder.frames(PulsarOutgoingMessage(payload: payload(4097 - overhead)), sequenceID: 5, publishTime: 9, maxMessageSize: 4096, chunking: true)
        #expect(above.count == 2)
        #expect(above.allSatisfy { $0.readableBytes <= 4096 })
        #expect(throws: PulsarClientError.self) {
            try builder.frames(PulsarOutgoingMessage(payload: payload(4097 - overhead)), sequenceID: 5, publishTime: 9, maxMessageSize: 4096, chunking: false)
        }
    }

    @Test func withoutChunkingATooLargeMessageFails() {
        let builder = SendFrameBuilder(producerID: 1, producerName: "p", compression: .none)
        #expect(throws: PulsarClientError.self) {
            try builder.frames(PulsarOutgoingMessage(payload: payload(20_000)), sequenceID: 5, publishTime: 9, maxMessageSize: 1000, chunking: false)
        }
        do {
            _ = try builder.frames(PulsarOutgoingMessage(payload: payload(20_000)), sequenceID: 5, publishTime: 9, maxMessageSize: 1000, chunking: false)
        } catch {
            #expect(error.code == .messageTooLarge)
        }
    }

    @Test func chunksCarryTheWholeMetadataOneSequenceIDAndFitTheLimit() throws {
        let maxSize = 4096
        let builder = SendFrameBuilder(producerID: 7, producerName: "chunker", compression: .none)
        let original = payload(maxSize * 5 + 123)
        let message = PulsarOutgoingMessage(payload: original, key: "k", properties: ["b": "2", "a": "1"], eventTime: 77)
        let frames = try builder.frames(message, sequenceID: 41, publishTime: 1_700_000_000_000, maxMessageSize: maxSize, chunking: true)
        #expect(frames.count > 5)
        var joined = ByteBuffer()
        for (index, bytes) in frames.enumerated() {
            #expect(bytes.readableBytes <= maxSize, "chunk frame \(index) is \(bytes.readableBytes) bytes")
            let frame = try decode(bytes)
            #expect(frame.command.send.sequenceID == 41)
            #expect(frame.command.send.isChunk)
            let metadata = try #require(frame.payload?.metadata)
            #expect(metadata.uuid == "chunker-41")
            #expect(metadata.chunkID == Int32(index))
            #expect(metadata.numChunksFromMsg == Int32(frames.count))
            #expect(metadata.totalChunkMsgSize == Int32(original.readableBytes))
            #expect(metadata.sequenceID == 41)
            #expect(metadata.partitionKey == "k")
            #expect(metadata.properties.map(\.key) == ["a", "b"])
            #expect(metadata.eventTime == 77)
            #expect(metadata.unknownFields.data.isEmpty)
            var body = try #require(frame.payload?.body)
            joined.writeBuffer(&body)
        }
        #expect(joined == original)
    }

    @Test func compressionHappensBeforeSplitting() throws {
        let maxSize = 2048
        let builder = SendFrameBuilder(producerID: 7, producerName: "z", compression: .zlib)
        // Random-looking bytes barely compress, so this stays above the limit once compressed.
        var generator = SplitMix64(seed: 9)
        var original = ByteBuffer()
        for _ in 0..<(40_000 / 8) { original.writeInteger(generator.next()) }
        let frames = try builder.frames(PulsarOutgoingMessage(payload: original), sequenceID: 1, publishTime: 1, maxMessageSize: maxSize, chunking: true)
        #expect(frames.count > 1)
        var compressed = ByteBuffer()
        for bytes in frames {
            let frame = try decode(bytes)
            let metadata = try #require(frame.payload?.metadata)
            #expect(metadata.compression == .zlib)
            #expect(metadata.uncompressedSize == UInt32(original.readableBytes))
            var body = try #require(frame.payload?.body)
            compressed.writeBuffer(&body)
        }
        #expect(Int(try decode(frames[0]).payload?.metadata.totalChunkMsgSize ?? 0) == compressed.readableBytes)
        #expect(try ZlibCompression.decompress(compressed, uncompressedSize: original.readableBytes) == original)
    }

    @Test func encoderChunkFieldsMatchProtobuf() throws {
        var fields = SendFrameFields(producerID: 3, sequenceID: 9, producerName: "relay", publishTime: 1_700_000_000_123)
        fields.chunk = ChunkFields(uuid: "relay-9", chunkID: 2, numChunks: 300, totalSize: 70_000_000)
        var fast = ByteBuffer()
        SendFrameEncoder.write(fields, payload: ByteBuffer(string: "abc"), into: &fast)
        var metadata = Pulsar_Proto_MessageMetadata()
        metadata.producerName = "relay"
        metadata.sequenceID = 9
        metadata.publishTime = 1_700_000_000_123
        metadata.uuid = "relay-9"
        metadata.numChunksFromMsg = 300
        metadata.totalChunkMsgSize = 70_000_000
        metadata.chunkID = 2
        var send = PulsarCommands.send(producerID: 3, sequenceID: 9, highestSequenceID: nil, numMessages: 1)
        send.send.isChunk = true
        var reference = ByteBuffer()
        try PulsarFrameEncoder.writePayloadCommand(send, metadata: metadata, payload: ByteBuffer(string: "abc"), into: &reference)
        #expect(fast == reference)
    }
}
