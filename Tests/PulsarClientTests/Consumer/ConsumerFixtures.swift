import CLZ4
import CSnappy
import CZlib
import CZstd
import NIOCore
@testable import PulsarClient

/// Builds the bytes a producer would put on the wire, so consumer logic is tested against
/// independently encoded data (the C codecs compress, our code inflates).
enum ConsumerFixtures {
    struct Item {
        var payload: [UInt8]
        var key: String? = nil
        var properties: [String: String] = [:]
        var eventTime: UInt64? = nil
        var sequenceID: UInt64? = nil
        var compactedOut = false
    }

    static func batchPayload(_ items: [Item]) -> [UInt8] {
        var buffer = ByteBuffer()
        for item in items {
            var single = Pulsar_Proto_SingleMessageMetadata()
            single.payloadSize = Int32(item.payload.count)
            if let key = item.key { single.partitionKey = key }
            single.properties = item.properties.sorted { $0.key < $1.key }.map { keyValue($0.key, $0.value) }
            if let eventTime = item.eventTime { single.eventTime = eventTime }
            if let sequenceID = item.sequenceID { single.sequenceID = sequenceID }
            if item.compactedOut { single.compactedOut = true }
            let bytes = (try? single.serializedBytes() as [UInt8]) ?? []
            buffer.writeInteger(UInt32(bytes.count))
            buffer.writeBytes(bytes)
            buffer.writeBytes(item.payload)
        }
        return Array(buffer.readableBytesView)
    }

    static func keyValue(_ key: String, _ value: String) -> Pulsar_Proto_KeyValue {
        var pair = Pulsar_Proto_KeyValue()
        pair.key = key
        pair.value = value
        return pair
    }

    static func metadata(
        producer: String = "producer-a",
        sequenceID: UInt64 = 10,
        publishTime: UInt64 = 1_700_000_000_000,
        batchCount: Int32? = nil,
        compression: Pulsar_Proto_CompressionType = .none,
        uncompressedSize: UInt32? = nil
    ) -> Pulsar_Proto_MessageMetadata {
        var metadata = Pulsar_Proto_MessageMetadata()
        metadata.producerName = producer
        metadata.sequenceID = sequenceID
        metadata.publishTime = publishTime
        if let batchCount { metadata.numMessagesInBatch = batchCount }
        if compression != .none { metadata.compression = compression }
        if let uncompressedSize { metadata.uncompressedSize = uncompressedSize }
        return metadata
    }

    static func command(
        consumerID: UInt64 = 1,
        ledger: UInt64 = 7,
        entry: UInt64,
        redeliveryCount: UInt32 = 0,
        ackSet: [Int64] = []
    ) -> Pulsar_Proto_CommandMessage {
        var command = Pulsar_Proto_CommandMessage()
        command.consumerID = consumerID
        var id = Pulsar_Proto_MessageIdData()
        id.ledgerID = ledger
        id.entryID = entry
        command.messageID = id
        if redeliveryCount > 0 { command.redeliveryCount = redeliveryCount }
        command.ackSet = ackSet
        return command
    }

    static func buffer(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }
    static func buffer(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    // MARK: compression with the C libraries

    static func compress(_ input: [UInt8], codec: PayloadDecompressor.Codec) -> [UInt8] {
        switch codec {
        case .lz4:
            let bound = Int(LZ4_compressBound(Int32(input.count)))
            var output = [UInt8](repeating: 0, count: max(bound, 1))
            let written = input.withUnsafeBufferPointer { source in
                output.withUnsafeMutableBufferPointer { target in
                    LZ4_compress_default(
                        UnsafeRawPointer(source.baseAddress!).assumingMemoryBound(to: CChar.self),
                        UnsafeMutableRawPointer(target.baseAddress!).assumingMemoryBound(to: CChar.self),
                        Int32(input.count), Int32(target.count))
                }
            }
            return Array(output.prefix(Int(written)))
        case .zlib:
            var length = compressBound(uLong(input.count))
            var output = [UInt8](repeating: 0, count: Int(length))
            _ = output.withUnsafeMutableBufferPointer { target in
                input.withUnsafeBufferPointer { source in
                    CZlib.compress(target.baseAddress, &length, source.baseAddress, uLong(input.count))
                }
            }
            return Array(output.prefix(Int(length)))
        case .zstd:
            var output = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
            let written = output.withUnsafeMutableBytes { target in
                input.withUnsafeBytes { source in
                    ZSTD_compress(target.baseAddress, target.count, source.baseAddress, source.count, 3)
                }
            }
            return Array(output.prefix(written))
        case .snappy:
            var length = snappy_max_compressed_length(input.count)
            var output = [UInt8](repeating: 0, count: length)
            _ = output.withUnsafeMutableBufferPointer { target in
                input.withUnsafeBufferPointer { source in
                    snappy_compress(
                        UnsafeRawPointer(source.baseAddress!).assumingMemoryBound(to: CChar.self), input.count,
                        UnsafeMutableRawPointer(target.baseAddress!).assumingMemoryBound(to: CChar.self), &length)
                }
            }
            return Array(output.prefix(length))
        default:
            return input
        }
    }
}
