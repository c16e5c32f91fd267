import NIOCore

/// Writes SEND frames without building protobuf message values: the hot path of every producer.
/// Emits exactly the fields below, in field-number order, as proto2 wire format; the frame codec
/// tests check the bytes decode to the same command and metadata SwiftProtobuf would produce.
public struct SendFrameFields {
    public var producerID: UInt64
    public var sequenceID: UInt64
    /// Set for batches: sequence id of the last message.
    public var highestSequenceID: UInt64?
    public var numMessages: Int32 = 1
    public var producerName: String
    public var publishTime: UInt64
    public var properties: [(key: String, value: String)] = []
    public var partitionKey: String?
    public var compression: Pulsar_Proto_CompressionType = .none
    public var uncompressedSize: UInt32?
    /// Set for batches (MessageMetadata.num_messages_in_batch).
    public var numMessagesInBatch: Int32?
    public var eventTime: UInt64?
    /// Set on every chunk of a chunked message (CommandSend.is_chunk and metadata 26-29).
    public var chunk: ChunkFields?

    public init(producerID: UInt64, sequenceID: UInt64, producerName: String, publishTime: UInt64) {
        self.producerID = producerID
        self.sequenceID = sequenceID
        self.producerName = producerName
        self.publishTime = publishTime
    }
}

/// Where one chunk sits in its message; `uuid` is shared by every chunk of the message.
public struct ChunkFields: Sendable, Hashable {
    public var uuid: String
    public var chunkID: Int32
    public var numChunks: Int32
    /// Size of the whole (compressed) payload the chunks are slices of.
    public var totalSize: Int32

    public init(uuid: String, chunkID: Int32, numChunks: Int32, totalSize: Int32) {
        self.uuid = uuid
        self.chunkID = chunkID
        self.numChunks = numChunks
        self.totalSize = totalSize
    }
}

public enum SendFrameEncoder {
    public static func write(_ fields: SendFrameFields, payload: ByteBuffer, into buffer: inout ByteBuffer) {
        // CommandSend
        var sendSize = 1 + varintSize(fields.producerID) + 1 + varintSize(fields.sequenceID)
        if fields.numMessages != 1 { sendSize += 1 + varintSize(UInt64(bitPattern: Int64(fields.numMessages))) }
        if let highest = fields.highestSequenceID { sendSize += 1 + varintSize(highest) }
        if fields.chunk != nil { sendSize += 2 }
        // BaseCommand: type (2 bytes) + field 6 tag + length + CommandSend
        let commandSize = 2 + 1 + varintSize(UInt64(sendSize)) + sendSize

        // MessageMetadata
        let nameBytes = fields.producerName.utf8.count
        var metadataSize = 1 + varintSize(UInt64(nameBytes)) + nameBytes
        metadataSize += 1 + varintSize(fields.sequenceID)
        metadataSize += 1 + varintSize(fields.publishTime)
        for property in fields.properties {
            let size = keyValueSize(property.key, property.value)
            metadataSize += 1 + varintSize(UInt64(size)) + size
        }
        if let key = fields.partitionKey { metadataSize += 1 + lengthDelimitedSize(key.utf8.count) }
        if fields.compression != .none { metadataSize += 1 + varintSize(UInt64(fields.compression.rawValue)) }
        if let size = fields.uncompressedSize { metadataSize += 1 + varintSize(UInt64(size)) }
        if let count = fields.numMessagesInBatch { metadataSize += 1 + varintSize(UInt64(bitPattern: Int64(count))) }
        if let eventTime = fields.eventTime { metadataSize += 1 + varintSize(eventTime) }
        if let highest = fields.highestSequenceID { metadataSize += 2 + varintSize(highest) }
        if let chunk = fields.chunk {
            metadataSize += 2 + lengthDelimitedSize(chunk.uuid.utf8.count)
            metadataSize += 2 + varintSize(UInt64(bitPattern: Int64(chunk.numChunks)))
            metadataSize += 2 + varintSize(UInt64(bitPattern: Int64(chunk.totalSize)))
            metadataSize += 2 + varintSize(UInt64(bitPattern: Int64(chunk.chunkID)))
        }

        let checksummed = 4 + metadataSize + payload.readableBytes
        let totalSize = 4 + commandSize + 2 + 4 + checksummed
        buffer.reserveCapacity(minimumWritableBytes: 4 + totalSize)
        buffer.writeInteger(UInt32(totalSize))
        buffer.writeInteger(UInt32(commandSize))
        buffer.writeInteger(UInt8(0x08))  // BaseCommand.type
        buffer.writeInteger(UInt8(Pulsar_Proto_BaseCommand.TypeEnum.send.rawValue))
        buffer.writeInteger(UInt8(0x32))  // BaseCommand.send (6, LEN)
        writeVarint(UInt64(sendSize), into: &buffer)
        buffer.writeInteger(UInt8(0x08))
        writeVarint(fields.producerID, into: &buffer)
        buffer.writeInteger(UInt8(0x10))
        writeVarint(fields.sequenceID, into: &buffer)
        if fields.numMessages != 1 {
            buffer.writeInteger(UInt8(0x18))
            writeVarint(UInt64(bitPattern: Int64(fields.numMessages)), into: &buffer)
        }
        if let highest = fields.highestSequenceID {
            buffer.writeInteger(UInt8(0x30))
            writeVarint(highest, into: &buffer)
        }
        if fields.chunk != nil {
            buffer.writeInteger(UInt8(0x38))  // is_chunk (7)
            buffer.writeInteger(UInt8(1))
        }

        buffer.writeInteger(PulsarFrameConstants.magicCRC32C)
        let checksumIndex = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        let checksumStart = buffer.writerIndex
        buffer.writeInteger(UInt32(metadataSize))
        buffer.writeInteger(UInt8(0x0A))  // producer_name
        writeVarint(UInt64(nameBytes), into: &buffer)
        buffer.writeString(fields.producerName)
        buffer.writeInteger(UInt8(0x10))  // sequence_id
        writeVarint(fields.sequenceID, into: &buffer)
        buffer.writeInteger(UInt8(0x18))  // publish_time
        writeVarint(fields.publishTime, into: &buffer)
        for property in fields.properties {
            buffer.writeInteger(UInt8(0x22))  // properties (4, LEN)
            writeVarint(UInt64(keyValueSize(property.key, property.value)), into: &buffer)
            buffer.writeInteger(UInt8(0x0A))
            writeVarint(UInt64(property.key.utf8.count), into: &buffer)
            buffer.writeString(property.key)
            buffer.writeInteger(UInt8(0x12))
            writeVarint(UInt64(property.value.utf8.count), into: &buffer)
            buffer.writeString(property.value)
        }
        if let key = fields.partitionKey {
            buffer.writeInteger(UInt8(0x32))  // partition_key (6, LEN)
            writeVarint(UInt64(key.utf8.count), into: &buffer)
            buffer.writeString(key)
        }
        if fields.compression != .none {
            buffer.writeInteger(UInt8(0x40))  // compression (8)
            writeVarint(UInt64(fields.compression.rawValue), into: &buffer)
        }
        if let size = fields.uncompressedSize {
            buffer.writeInteger(UInt8(0x48))  // uncompressed_size (9)
            writeVarint(UInt64(size), into: &buffer)
        }
        if let count = fields.numMessagesInBatch {
            buffer.writeInteger(UInt8(0x58))  // num_messages_in_batch (11)
            writeVarint(UInt64(bitPattern: Int64(count)), into: &buffer)
        }
        if let eventTime = fields.eventTime {
            buffer.writeInteger(UInt8(0x60))  // event_time (12)
            writeVarint(eventTime, into: &buffer)
        }
        if let highest = fields.highestSequenceID {
            buffer.writeInteger(UInt8(0xC0))  // highest_sequence_id (24): two-byte tag
            buffer.writeInteger(UInt8(0x01))
            writeVarint(highest, into: &buffer)
        }
        if let chunk = fields.chunk {
            // Fields 26-29, two-byte tags.
            buffer.writeInteger(UInt8(0xD2))  // uuid (26, LEN)
            buffer.writeInteger(UInt8(0x01))
            writeVarint(UInt64(chunk.uuid.utf8.count), into: &buffer)
            buffer.writeString(chunk.uuid)
            buffer.writeInteger(UInt8(0xD8))  // num_chunks_from_msg (27)
            buffer.writeInteger(UInt8(0x01))
            writeVarint(UInt64(bitPattern: Int64(chunk.numChunks)), into: &buffer)
            buffer.writeInteger(UInt8(0xE0))  // total_chunk_msg_size (28)
            buffer.writeInteger(UInt8(0x01))
            writeVarint(UInt64(bitPattern: Int64(chunk.totalSize)), into: &buffer)
            buffer.writeInteger(UInt8(0xE8))  // chunk_id (29)
            buffer.writeInteger(UInt8(0x01))
            writeVarint(UInt64(bitPattern: Int64(chunk.chunkID)), into: &buffer)
        }
        buffer.writeImmutableBuffer(payload)
        let crc = CRC32C.checksum(buffer, at: checksumStart, length: checksummed) ?? 0
        buffer.setInteger(crc, at: checksumIndex)
    }

    @inline(__always)
    static func varintSize(_ value: UInt64) -> Int {
        var value = value
        var size = 1
        while value >= 0x80 {
            value >>= 7
            size += 1
        }
        return size
    }

    @inline(__always)
    static func writeVarint(_ value: UInt64, into buffer: inout ByteBuffer) {
        var value = value
        while value >= 0x80 {
            buffer.writeInteger(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        buffer.writeInteger(UInt8(value))
    }

    private static func lengthDelimitedSize(_ count: Int) -> Int {
        varintSize(UInt64(count)) + count
    }

    private static func keyValueSize(_ key: String, _ value: String) -> Int {
        1 + lengthDelimitedSize(key.utf8.count) + 1 + lengthDelimitedSize(value.utf8.count)
    }
}
