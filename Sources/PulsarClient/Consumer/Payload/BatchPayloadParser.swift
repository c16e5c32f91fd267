import NIOCore
import SwiftProtobuf

/// One item of a batch: its own metadata and its payload bytes.
struct BatchItem: Sendable {
    var metadata: Pulsar_Proto_SingleMessageMetadata
    var payload: ByteBuffer
}

/// Splits an (already decompressed) batch payload into its items.
///
/// Layout: `([u32 metadataSize][SingleMessageMetadata][payload_size bytes]) × count`. Every length
/// is checked against what is left, so a lying size is a typed error, never a crash or an
/// over-read into the next item.
enum BatchPayloadParser {
    static func split(_ batch: ByteBuffer, count: Int) throws(PulsarConsumerError) -> [BatchItem] {
        guard count > 0 else {
            throw PulsarConsumerError(code: .malformedBatch, detail: "batch announces \(count) messages")
        }
        var buffer = batch
        // Each item takes at least 4 bytes of size prefix, so a count larger than that is a lie;
        // checking it first keeps a hostile count from reserving a huge array.
        guard count <= buffer.readableBytes / 4 else {
            throw PulsarConsumerError(
                code: .malformedBatch,
                detail: "batch announces \(count) messages but holds only \(buffer.readableBytes) bytes"
            )
        }
        var items: [BatchItem] = []
        items.reserveCapacity(count)
        for index in 0..<count {
            guard let metadataSize = buffer.readInteger(as: UInt32.self) else {
                throw malformed(index, "ends before its metadata size")
            }
            guard Int(metadataSize) <= buffer.readableBytes, let metadataBytes = buffer.readSlice(length: Int(metadataSize)) else {
                throw malformed(index, "metadata size \(metadataSize) exceeds the \(buffer.readableBytes) bytes left")
            }
            let metadata: Pulsar_Proto_SingleMessageMetadata
            do {
                metadata = try Pulsar_Proto_SingleMessageMetadata(serializedBytes: Array(metadataBytes.readableBytesView))
            } catch {
                throw malformed(index, "SingleMessageMetadata does not parse (\(error))")
            }
            let payloadSize = Int(metadata.payloadSize)
            guard payloadSize >= 0 else {
                throw malformed(index, "negative payload size \(payloadSize)")
            }
            guard payloadSize <= buffer.readableBytes, let payload = buffer.readSlice(length: payloadSize) else {
                throw malformed(index, "payload size \(payloadSize) exceeds the \(buffer.readableBytes) bytes left")
            }
            items.append(BatchItem(metadata: metadata, payload: payload))
        }
        guard buffer.readableBytes == 0 else {
            throw PulsarConsumerError(
                code: .malformedBatch,
                detail: "\(buffer.readableBytes) bytes left after the \(count) announced messages"
            )
        }
        return items
    }

    private static func malformed(_ index: Int, _ what: String) -> PulsarConsumerError {
        PulsarConsumerError(code: .malformedBatch, detail: "batch item \(index) \(what)")
    }
}
