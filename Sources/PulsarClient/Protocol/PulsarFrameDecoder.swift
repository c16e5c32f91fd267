import NIOCore
import SwiftProtobuf

/// Splits the inbound byte stream into `PulsarFrame`s.
///
/// Layout: `[totalSize u32][commandSize u32][BaseCommand]` and, for payload commands,
/// `[0x0e02 u32 BrokerEntryMetadata]? [0x0e01][crc32c u32][metadataSize u32][MessageMetadata][payload]`.
/// The frame size limit starts at 5 MB and is raised or lowered from CONNECTED.max_message_size.
public struct PulsarFrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = PulsarFrame

    /// Largest accepted value of the totalSize field.
    public var maxFrameSize: Int

    public init(maxFrameSize: Int = PulsarFrameConstants.defaultMaxMessageSize + PulsarFrameConstants.framePadding) {
        self.maxFrameSize = maxFrameSize
    }

    /// Sets the limit from the broker's max message size (plus room for command and metadata).
    public mutating func setMaxMessageSize(_ size: Int) {
        self.maxFrameSize = size + PulsarFrameConstants.framePadding
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> PulsarFrame? {
        guard let totalSize = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        guard Int(totalSize) <= self.maxFrameSize else {
            throw PulsarFrameError(code: .oversized, detail: "frame of \(totalSize) bytes exceeds the limit of \(self.maxFrameSize)")
        }
        guard totalSize >= 4 else {
            throw PulsarFrameError.garbage("total size \(totalSize) leaves no room for the command size")
        }
        guard buffer.readableBytes >= 4 + Int(totalSize) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        // The guard above makes this slice always available.
        guard var frame = buffer.readSlice(length: Int(totalSize)) else { return nil }
        return try Self.decodeFrame(&frame)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> PulsarFrame? {
        if let frame = try self.decode(buffer: &buffer) { return frame }
        if seenEOF, buffer.readableBytes > 0 {
            throw PulsarFrameError.truncated("connection closed inside a frame (\(buffer.readableBytes) bytes pending)")
        }
        return nil
    }

    /// Decodes the bytes after the totalSize field.
    static func decodeFrame(_ frame: inout ByteBuffer) throws -> PulsarFrame {
        guard let commandSize = frame.readInteger(as: UInt32.self) else {
            throw PulsarFrameError.truncated("missing command size")
        }
        guard Int(commandSize) <= frame.readableBytes else {
            throw PulsarFrameError.truncated("command size \(commandSize) exceeds the \(frame.readableBytes) bytes left in the frame")
        }
        guard commandSize > 0, let commandBytes = frame.readSlice(length: Int(commandSize)) else {
            throw PulsarFrameError.garbage("empty command")
        }
        let command: Pulsar_Proto_BaseCommand
        do {
            command = try Pulsar_Proto_BaseCommand(serializedBytes: commandBytes.readableBytesSpan)
        } catch {
            throw PulsarFrameError(code: .invalidCommand, detail: "BaseCommand does not parse: \(error)")
        }
        guard frame.readableBytes > 0 else { return PulsarFrame(command: command) }
        return PulsarFrame(command: command, payload: try decodePayload(&frame))
    }

    private static func decodePayload(_ frame: inout ByteBuffer) throws -> PulsarFramePayload {
        var brokerEntryMetadata: Pulsar_Proto_BrokerEntryMetadata?
        guard var magic = frame.readInteger(as: UInt16.self) else {
            throw PulsarFrameError.truncated("payload section shorter than its magic number")
        }
        if magic == PulsarFrameConstants.magicBrokerEntryMetadata {
            guard let size = frame.readInteger(as: UInt32.self), let bytes = frame.readSlice(length: Int(size)) else {
                throw PulsarFrameError.truncated("broker entry metadata runs past the frame")
            }
            do {
                brokerEntryMetadata = try Pulsar_Proto_BrokerEntryMetadata(serializedBytes: bytes.readableBytesSpan)
            } catch {
                throw PulsarFrameError(code: .invalidMetadata, detail: "BrokerEntryMetadata does not parse: \(error)")
            }
            guard let next = frame.readInteger(as: UInt16.self) else {
                throw PulsarFrameError.truncated("payload section missing after broker entry metadata")
            }
            magic = next
        }
        guard magic == PulsarFrameConstants.magicCRC32C else {
            throw PulsarFrameError(code: .badMagic, detail: "expected magic 0x0e01, found 0x\(String(magic, radix: 16))")
        }
        guard let expected = frame.readInteger(as: UInt32.self) else {
            throw PulsarFrameError.truncated("payload section ends inside its checksum")
        }
        let actual = CRC32C.checksum(frame)
        guard actual == expected else {
            throw PulsarFrameError(code: .badChecksum, detail: "checksum 0x\(String(actual, radix: 16)) does not match 0x\(String(expected, radix: 16)) in the frame")
        }
        guard let metadataSize = frame.readInteger(as: UInt32.self) else {
            throw PulsarFrameError.truncated("payload section ends inside the metadata size")
        }
        guard Int(metadataSize) <= frame.readableBytes, let metadataBytes = frame.readSlice(length: Int(metadataSize)) else {
            throw PulsarFrameError.truncated("metadata size \(metadataSize) exceeds the \(frame.readableBytes) bytes left in the frame")
        }
        let metadata: Pulsar_Proto_MessageMetadata
        do {
            metadata = try Pulsar_Proto_MessageMetadata(serializedBytes: metadataBytes.readableBytesSpan)
        } catch {
            throw PulsarFrameError(code: .invalidMetadata, detail: "MessageMetadata does not parse: \(error)")
        }
        return PulsarFramePayload(metadata: metadata, brokerEntryMetadata: brokerEntryMetadata, body: frame)
    }
}
