import NIOCore

/// Writes one entry of a batch payload — `[u32 size][SingleMessageMetadata][payload]` — without
/// building a protobuf value: batches are the relay's hot path. Emits the fields below in
/// field-number order as proto2 wire format, byte-for-byte what SwiftProtobuf produces for the
/// same values (checked by the frame codec tests).
public enum BatchEntryEncoder {
    public static func write(
        sequenceID: UInt64,
        key: String?,
        eventTime: UInt64?,
        properties: [(key: String, value: String)],
        payload: ByteBuffer,
        into buffer: inout ByteBuffer
    ) {
        var size = 0
        for property in properties {
            let pair = keyValueSize(property.key, property.value)
            size += 1 + SendFrameEncoder.varintSize(UInt64(pair)) + pair
        }
        if let key { size += 1 + lengthDelimitedSize(key.utf8.count) }
        size += 1 + SendFrameEncoder.varintSize(UInt64(payload.readableBytes))
        if let eventTime { size += 1 + SendFrameEncoder.varintSize(eventTime) }
        size += 1 + SendFrameEncoder.varintSize(sequenceID)

        buffer.reserveCapacity(minimumWritableBytes: 4 + size + payload.readableBytes)
        buffer.writeInteger(UInt32(size))
        for property in properties {
            buffer.writeInteger(UInt8(0x0A))  // properties (1, LEN)
            SendFrameEncoder.writeVarint(UInt64(keyValueSize(property.key, property.value)), into: &buffer)
            writeString(property.key, tag: 0x0A, into: &buffer)
            writeString(property.value, tag: 0x12, into: &buffer)
        }
        if let key { writeString(key, tag: 0x12, into: &buffer) }  // partition_key (2)
        buffer.writeInteger(UInt8(0x18))  // payload_size (3)
        SendFrameEncoder.writeVarint(UInt64(payload.readableBytes), into: &buffer)
        if let eventTime {
            buffer.writeInteger(UInt8(0x28))  // event_time (5)
            SendFrameEncoder.writeVarint(eventTime, into: &buffer)
        }
        buffer.writeInteger(UInt8(0x40))  // sequence_id (8)
        SendFrameEncoder.writeVarint(sequenceID, into: &buffer)
        buffer.writeImmutableBuffer(payload)
    }

    @inline(__always)
    private static func writeString(_ value: String, tag: UInt8, into buffer: inout ByteBuffer) {
        buffer.writeInteger(tag)
        SendFrameEncoder.writeVarint(UInt64(value.utf8.count), into: &buffer)
        buffer.writeString(value)
    }

    private static func lengthDelimitedSize(_ count: Int) -> Int {
        SendFrameEncoder.varintSize(UInt64(count)) + count
    }

    private static func keyValueSize(_ key: String, _ value: String) -> Int {
        1 + lengthDelimitedSize(key.utf8.count) + 1 + lengthDelimitedSize(value.utf8.count)
    }
}
