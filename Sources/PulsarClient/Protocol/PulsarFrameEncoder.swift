import NIOCore
import SwiftProtobuf

/// Serializes commands into frames, appending to a caller-owned buffer so that many frames can be
/// coalesced into one write.
public enum PulsarFrameEncoder {
    /// Appends a simple frame: `[totalSize][commandSize][BaseCommand]`.
    public static func writeCommand(_ command: Pulsar_Proto_BaseCommand, into buffer: inout ByteBuffer) throws(PulsarFrameError) {
        let commandBytes = try serialize(command)
        buffer.reserveCapacity(minimumWritableBytes: 8 + commandBytes.count)
        buffer.writeInteger(UInt32(4 + commandBytes.count))
        buffer.writeInteger(UInt32(commandBytes.count))
        buffer.writeBytes(commandBytes)
    }

    /// Appends a payload frame (SEND): the simple part, then magic, CRC32C over metadata size +
    /// metadata + payload, metadata size, metadata and payload.
    public static func writePayloadCommand(
        _ command: Pulsar_Proto_BaseCommand,
        metadata: Pulsar_Proto_MessageMetadata,
        payload: ByteBuffer,
        into buffer: inout ByteBuffer
    ) throws(PulsarFrameError) {
        let commandBytes = try serialize(command)
        let metadataBytes = try serialize(metadata)
        let checksummedSize = 4 + metadataBytes.count + payload.readableBytes
        let totalSize = 4 + commandBytes.count + 2 + 4 + checksummedSize
        buffer.reserveCapacity(minimumWritableBytes: 4 + totalSize)
        buffer.writeInteger(UInt32(totalSize))
        buffer.writeInteger(UInt32(commandBytes.count))
        buffer.writeBytes(commandBytes)
        buffer.writeInteger(PulsarFrameConstants.magicCRC32C)
        let checksumIndex = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        let checksumStart = buffer.writerIndex
        buffer.writeInteger(UInt32(metadataBytes.count))
        buffer.writeBytes(metadataBytes)
        buffer.writeImmutableBuffer(payload)
        // Both the index and the length were just written, so the view exists.
        let crc = CRC32C.checksum(buffer, at: checksumStart, length: checksummedSize) ?? 0
        buffer.setInteger(crc, at: checksumIndex)
    }

    /// A simple frame in a fresh buffer.
    public static func frame(_ command: Pulsar_Proto_BaseCommand, allocator: ByteBufferAllocator = ByteBufferAllocator()) throws(PulsarFrameError) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64)
        try writeCommand(command, into: &buffer)
        return buffer
    }

    static func serialize(_ message: some SwiftProtobuf.Message) throws(PulsarFrameError) -> [UInt8] {
        do {
            return try message.serializedBytes()
        } catch {
            throw PulsarFrameError(code: .encodingFailed, detail: "\(type(of: message)) does not serialize: \(error)")
        }
    }
}
