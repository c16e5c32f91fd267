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

        // One bounds check for the whole entry header; the bytes are then stored directly.
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 4 + size) { raw in
            var out = RawWriter(base: raw)
            out.bigEndian32(UInt32(size))
            for property in properties {
                out.byte(0x0A)  // properties (1, LEN)
                out.varint(UInt64(keyValueSize(property.key, property.value)))
                out.string(property.key, tag: 0x0A)
                out.string(property.value, tag: 0x12)
            }
            if let key { out.string(key, tag: 0x12) }  // partition_key (2)
            out.byte(0x18)  // payload_size (3)
            out.varint(UInt64(payload.readableBytes))
            if let eventTime {
                out.byte(0x28)  // event_time (5)
                out.varint(eventTime)
            }
            out.byte(0x40)  // sequence_id (8)
            out.varint(sequenceID)
            return out.index
        }
        buffer.writeImmutableBuffer(payload)
    }

    /// Stores bytes into space already reserved (the size was computed beforehand).
    private struct RawWriter {
        let base: UnsafeMutableRawBufferPointer
        var index = 0

        @inline(__always)
        mutating func byte(_ value: UInt8) {
            base[index] = value
            index += 1
        }

        @inline(__always)
        mutating func bigEndian32(_ value: UInt32) {
            byte(UInt8(truncatingIfNeeded: value >> 24))
            byte(UInt8(truncatingIfNeeded: value >> 16))
            byte(UInt8(truncatingIfNeeded: value >> 8))
            byte(UInt8(truncatingIfNeeded: value))
        }

        @inline(__always)
        mutating func varint(_ value: UInt64) {
            var value = value
            while value >= 0x80 {
                byte(UInt8(truncatingIfNeeded: value) | 0x80)
                value >>= 7
            }
            byte(UInt8(value))
        }

        mutating func string(_ value: String, tag: UInt8) {
            var value = value
            byte(tag)
            varint(UInt64(value.utf8.count))
            value.withUTF8 { utf8 in
                guard let source = utf8.baseAddress, let destination = base.baseAddress, !utf8.isEmpty else { return }
                (destination + index).copyMemory(from: source, byteCount: utf8.count)
                index += utf8.count
            }
        }
    }

    private static func lengthDelimitedSize(_ count: Int) -> Int {
        SendFrameEncoder.varintSize(UInt64(count)) + count
    }

    private static func keyValueSize(_ key: String, _ value: String) -> Int {
        1 + lengthDelimitedSize(key.utf8.count) + 1 + lengthDelimitedSize(value.utf8.count)
    }
}
