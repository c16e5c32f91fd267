import NIOCore
import Testing
@testable import PulsarClient

@Suite("Batch payload parsing")
struct BatchPayloadParserTests {
    typealias Item = ConsumerFixtures.Item

    @Test("splits items with their own metadata and payload")
    func splits() throws {
        let bytes = ConsumerFixtures.batchPayload([
            Item(payload: Array("one".utf8), key: "k1", properties: ["a": "1"], eventTime: 5, sequenceID: 100),
            Item(payload: [], key: nil),
            Item(payload: Array("three".utf8), key: "k3", properties: ["b": "2", "c": "3"]),
        ])
        let items = try BatchPayloadParser.split(ByteBuffer(bytes: bytes), count: 3)
        #expect(items.count == 3)
        #expect(String(buffer: items[0].payload) == "one")
        #expect(items[0].metadata.partitionKey == "k1")
        #expect(items[0].metadata.eventTime == 5)
        #expect(items[0].metadata.sequenceID == 100)
        #expect(items[1].payload.readableBytes == 0)
        #expect(!items[1].metadata.hasPartitionKey)
        #expect(String(buffer: items[2].payload) == "three")
        #expect(items[2].metadata.properties.map(\.key) == ["b", "c"])
    }

    @Test("a count larger than the items present is a typed error")
    func countTooLarge() {
        let bytes = ConsumerFixtures.batchPayload([Item(payload: Array("x".utf8)), Item(payload: Array("y".utf8))])
        expectMalformed { try BatchPayloadParser.split(ByteBuffer(bytes: bytes), count: 3) }
    }

    @Test("bytes left over after the announced count is a typed error")
    func trailingBytes() {
        let bytes = ConsumerFixtures.batchPayload([Item(payload: Array("x".utf8)), Item(payload: Array("y".utf8))])
        expectMalformed { try BatchPayloadParser.split(ByteBuffer(bytes: bytes), count: 1) }
    }

    @Test("zero, negative and absurd counts are typed errors")
    func badCounts() {
        let bytes = ConsumerFixtures.batchPayload([Item(payload: Array("x".utf8))])
        for count in [0, -1, 1_000_000] {
            expectMalformed { try BatchPayloadParser.split(ByteBuffer(bytes: bytes), count: count) }
        }
    }

    @Test("a metadata size past the end is a typed error")
    func metadataSizeTooLarge() {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(1000))
        buffer.writeBytes([1, 2, 3, 4])
        expectMalformed { try BatchPayloadParser.split(buffer, count: 1) }
    }

    @Test("a payload size past the end is a typed error")
    func payloadSizeTooLarge() {
        var bytes = ConsumerFixtures.batchPayload([Item(payload: Array("hello".utf8))])
        bytes.removeLast(2)
        expectMalformed { try BatchPayloadParser.split(ByteBuffer(bytes: bytes), count: 1) }
    }

    @Test("metadata that is not protobuf (or lacks payload_size) is a typed error")
    func garbageMetadata() {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(3))
        buffer.writeBytes([0xff, 0xff, 0xff])
        expectMalformed { try BatchPayloadParser.split(buffer, count: 1) }

        // Valid protobuf (a partition key) but the required payload_size is missing.
        var missing = ByteBuffer()
        missing.writeInteger(UInt32(3))
        missing.writeBytes([0x12, 0x01, 0x61])
        expectMalformed { try BatchPayloadParser.split(missing, count: 1) }
    }

    @Test("a negative payload size is a typed error")
    func negativePayloadSize() {
        var single = Pulsar_Proto_SingleMessageMetadata()
        single.payloadSize = -5
        let metadata: [UInt8] = (try? single.serializedBytes()) ?? []
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(metadata.count))
        buffer.writeBytes(metadata)
        buffer.writeBytes([0, 0, 0, 0, 0])
        expectMalformed { try BatchPayloadParser.split(buffer, count: 1) }
    }

    @Test("a truncated size prefix is a typed error")
    func truncatedPrefix() {
        var bytes = ConsumerFixtures.batchPayload([Item(payload: Array("x".utf8))])
        bytes += [0, 0]
        expectMalformed { try BatchPayloadParser.split(ByteBuffer(bytes: bytes), count: 2) }
    }

    private func expectMalformed(_ body: () throws -> [BatchItem], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(sourceLocation: sourceLocation) {
            _ = try body()
        } throws: { error in
            (error as? PulsarConsumerError)?.code == .malformedBatch
        }
    }
}
