import NIOCore
import SwiftProtobuf
import Testing
@testable import PulsarClient

@Suite("Incoming message decoding")
struct IncomingMessageDecoderTests {
    typealias Item = ConsumerFixtures.Item
    let decoder = IncomingMessageDecoder(topic: "persistent://public/default/t")

    @Test("a plain message keeps key, properties, times, producer, sequence id and redelivery count")
    func plainMessage() throws {
        var metadata = ConsumerFixtures.metadata(producer: "relay-1", sequenceID: 42, publishTime: 1234)
        metadata.partitionKey = "order-9"
        metadata.eventTime = 999
        metadata.properties = [ConsumerFixtures.keyValue("event_type", "product.created")]
        let command = ConsumerFixtures.command(entry: 3, redeliveryCount: 2)
        let entry = try decoder.decode(command: command, metadata: metadata, body: ByteBuffer(string: "hello"))
        #expect(entry.batchSize == nil)
        #expect(entry.skipped == 0)
        let message = try #require(entry.messages.first)
        #expect(entry.messages.count == 1)
        #expect(String(buffer: message.payload) == "hello")
        #expect(message.key == "order-9")
        #expect(message.properties == ["event_type": "product.created"])
        #expect(message.publishTime == 1234)
        #expect(message.eventTime == 999)
        #expect(message.producerName == "relay-1")
        #expect(message.sequenceID == 42)
        #expect(message.redeliveryCount == 2)
        #expect(message.topic == "persistent://public/default/t")
        #expect(message.id.ledgerID == 7 && message.id.entryID == 3 && message.id.batchIndex == -1)
    }

    @Test("no event time and no key come out as nil")
    func absentOptionals() throws {
        let entry = try decoder.decode(command: ConsumerFixtures.command(entry: 1), metadata: ConsumerFixtures.metadata(), body: ByteBuffer())
        let message = try #require(entry.messages.first)
        #expect(message.eventTime == nil)
        #expect(message.key == nil)
        #expect(message.payload.readableBytes == 0)
    }

    @Test("a batch becomes one message per item with per-item key, properties, event time and sequence id")
    func batch() throws {
        let payload = ConsumerFixtures.batchPayload([
            Item(payload: Array("a".utf8), key: "ka", properties: ["i": "0"], eventTime: 11),
            Item(payload: Array("b".utf8), key: "kb", properties: ["i": "1"], sequenceID: 500),
            Item(payload: Array("c".utf8)),
        ])
        var metadata = ConsumerFixtures.metadata(sequenceID: 20, batchCount: 3)
        metadata.eventTime = 77
        let entry = try decoder.decode(command: ConsumerFixtures.command(entry: 5), metadata: metadata, body: ByteBuffer(bytes: payload))
        #expect(entry.batchSize == 3)
        #expect(entry.messages.map { String(buffer: $0.payload) } == ["a", "b", "c"])
        #expect(entry.messages.map(\.key) == ["ka", "kb", nil])
        #expect(entry.messages.map(\.properties) == [["i": "0"], ["i": "1"], [:]])
        #expect(entry.messages.map(\.eventTime) == [11, 77, 77])
        #expect(entry.messages.map(\.sequenceID) == [20, 500, 22])
        #expect(entry.messages.map(\.id.batchIndex) == [0, 1, 2])
        #expect(entry.messages.allSatisfy { $0.id.entryID == 5 && $0.producerName == "producer-a" })
    }

    @Test("compacted-out items and items cleared in ack_set are skipped and counted")
    func skipsAckedAndCompacted() throws {
        let payload = ConsumerFixtures.batchPayload((0..<5).map { Item(payload: [UInt8($0)], compactedOut: $0 == 1) })
        // Bits 0, 1, 3 still unacknowledged; 2 and 4 already acknowledged.
        let command = ConsumerFixtures.command(entry: 1, ackSet: [0b01011])
        let entry = try decoder.decode(command: command, metadata: ConsumerFixtures.metadata(batchCount: 5), body: ByteBuffer(bytes: payload))
        #expect(entry.messages.map(\.id.batchIndex) == [0, 3])
        #expect(entry.skipped == 3)
        #expect(entry.batchSize == 5)
    }

    @Test("ack_set words beyond 64 items are read in order")
    func ackSetSecondWord() {
        #expect(IncomingMessageDecoder.brokerStillExpects(64, ackSet: [0, 1]))
        #expect(!IncomingMessageDecoder.brokerStillExpects(65, ackSet: [0, 1]))
        #expect(!IncomingMessageDecoder.brokerStillExpects(0, ackSet: [0, 1]))
        #expect(!IncomingMessageDecoder.brokerStillExpects(200, ackSet: [-1]))
        #expect(IncomingMessageDecoder.brokerStillExpects(63, ackSet: [-1]))
        #expect(IncomingMessageDecoder.brokerStillExpects(9, ackSet: []))
    }

    @Test("items the application acknowledged before a reconnect are not delivered again")
    func locallyAcked() throws {
        let payload = ConsumerFixtures.batchPayload((0..<3).map { Item(payload: [UInt8($0)]) })
        let entry = try decoder.decode(
            command: ConsumerFixtures.command(entry: 1),
            metadata: ConsumerFixtures.metadata(batchCount: 3),
            body: ByteBuffer(bytes: payload),
            locallyAcked: [0, 2]
        )
        #expect(entry.messages.map(\.id.batchIndex) == [1])
        #expect(entry.skipped == 2)
    }

    @Test("a compressed batch inflates and splits", arguments: [
        (Pulsar_Proto_CompressionType.lz4, PayloadDecompressor.Codec.lz4),
        (.zlib, .zlib), (.zstd, .zstd), (.snappy, .snappy),
    ])
    func compressedBatch(wire: Pulsar_Proto_CompressionType, codec: PayloadDecompressor.Codec) throws {
        let items = (0..<50).map { Item(payload: Array("message number \($0) with some text".utf8), key: "key-\($0 % 4)") }
        let raw = ConsumerFixtures.batchPayload(items)
        let compressed = ConsumerFixtures.compress(raw, codec: codec)
        let metadata = ConsumerFixtures.metadata(batchCount: 50, compression: wire, uncompressedSize: UInt32(raw.count))
        let entry = try decoder.decode(command: ConsumerFixtures.command(entry: 2), metadata: metadata, body: ByteBuffer(bytes: compressed))
        #expect(entry.messages.count == 50)
        #expect(String(buffer: entry.messages[49].payload) == "message number 49 with some text")
        #expect(entry.messages[6].key == "key-2")
    }

    @Test("a codec value we do not know is reported as unsupportedCompression with the message id")
    func unknownCodecOnTheWire() throws {
        let metadata = ConsumerFixtures.metadata()
        // Field 8 (compression), varint 7: a codec newer than our proto.
        let bytes: [UInt8] = try metadata.serializedBytes() + [0x40, 0x07, 0x48, 0x05]
        let parsed = try Pulsar_Proto_MessageMetadata(serializedBytes: bytes)
        #expect(parsed.compression == .none)
        #expect {
            try decoder.decode(command: ConsumerFixtures.command(entry: 8), metadata: parsed, body: ByteBuffer(bytes: [1, 2, 3, 4, 5]))
        } throws: { error in
            guard let error = error as? PulsarConsumerError else { return false }
            return error.code == .unsupportedCompression && error.messageID?.entryID == 8 && error.detail.contains("#7")
        }
    }

    @Test("compressed without uncompressed_size, or a zero batch count, is malformed metadata")
    func malformedMetadata() {
        let noSize = ConsumerFixtures.metadata(compression: .zlib)
        let zeroCount = ConsumerFixtures.metadata(batchCount: 0)
        for metadata in [noSize, zeroCount] {
            #expect {
                try decoder.decode(command: ConsumerFixtures.command(entry: 1), metadata: metadata, body: ByteBuffer(bytes: [1, 2]))
            } throws: { error in
                (error as? PulsarConsumerError)?.code == .malformedMetadata
            }
        }
    }

    @Test("a corrupt compressed batch is a typed error, not a crash")
    func corruptCompressedBatch() {
        let metadata = ConsumerFixtures.metadata(batchCount: 2, compression: .lz4, uncompressedSize: 100)
        #expect {
            try decoder.decode(command: ConsumerFixtures.command(entry: 1), metadata: metadata, body: ByteBuffer(bytes: [0xf0, 1, 2, 3]))
        } throws: { error in
            (error as? PulsarConsumerError)?.code == .decompressionFailed
        }
    }

    @Test("a lone chunk is refused with a typed error (chunks are reassembled before decoding)")
    func chunked() {
        var metadata = ConsumerFixtures.metadata()
        metadata.numChunksFromMsg = 3
        #expect {
            try decoder.decode(command: ConsumerFixtures.command(entry: 1), metadata: metadata, body: ByteBuffer(bytes: [1]))
        } throws: { error in
            (error as? PulsarConsumerError)?.code == .unsupportedFeature
        }
    }
}
