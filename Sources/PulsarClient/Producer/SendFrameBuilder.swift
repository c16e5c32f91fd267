import NIOCore

/// Builds the serialized SEND frames that go into the pending queue.
struct SendFrameBuilder {
    var producerID: UInt64
    var producerName: String
    var compression: CompressionType
    let allocator = ByteBufferAllocator()

    /// One message, one SEND.
    func single(_ message: PulsarOutgoingMessage, sequenceID: UInt64, publishTime: UInt64) throws(PulsarClientError) -> ByteBuffer {
        var fields = fields(for: message, sequenceID: sequenceID, publishTime: publishTime)
        let payload = try compressIfNeeded(message.payload, fields: &fields)
        return encode(fields, payload: payload)
    }

    /// The SEND frame(s) of one message: one frame when it fits the broker's limit; otherwise,
    /// with `chunking`, one frame per chunk, all with the same sequence id and uuid. Without
    /// chunking a message that does not fit fails. The whole frame must fit `maxMessageSize`: a
    /// broker refuses a bigger one (pulsar-lite answers SEND_ERROR NotAllowed up to 10 KiB above
    /// it, which would close the producer, and drops the connection beyond).
    func frames(
        _ message: PulsarOutgoingMessage, sequenceID: UInt64, publishTime: UInt64, maxMessageSize: Int, chunking: Bool
    ) throws(PulsarClientError) -> [ByteBuffer] {
        var fields = fields(for: message, sequenceID: sequenceID, publishTime: publishTime)
        let payload = try compressIfNeeded(message.payload, fields: &fields)
        let singleSize = encode(fields, payload: ByteBuffer()).readableBytes + payload.readableBytes
        if singleSize <= maxMessageSize {
            return [encode(fields, payload: payload)]
        }
        guard chunking else {
            throw PulsarClientError(code: .messageTooLarge, message: "message of \(message.payload.readableBytes) bytes (a \(singleSize)-byte frame) exceeds the broker limit of \(maxMessageSize)")
        }
        guard payload.readableBytes <= Int(Int32.max) else {
            throw PulsarClientError(code: .messageTooLarge, message: "message of \(payload.readableBytes) bytes is too large even for chunking")
        }
        let uuid = ChunkSplitter.uuid(producerName: producerName, sequenceID: sequenceID)
        // Worst-case headers: the largest chunk id and count a 2 GiB payload could need.
        fields.chunk = ChunkFields(uuid: uuid, chunkID: Int32.max, numChunks: Int32.max, totalSize: Int32.max)
        let splitter = ChunkSplitter(maxMessageSize: maxMessageSize, headerSize: encode(fields, payload: ByteBuffer()).readableBytes)
        let ranges = splitter.ranges(totalSize: payload.readableBytes)
        return ranges.enumerated().map { index, range in
            fields.chunk = ChunkFields(uuid: uuid, chunkID: Int32(index), numChunks: Int32(ranges.count), totalSize: Int32(payload.readableBytes))
            let slice = payload.getSlice(at: payload.readerIndex + range.lowerBound, length: range.count) ?? ByteBuffer()
            return encode(fields, payload: slice)
        }
    }

    private func fields(for message: PulsarOutgoingMessage, sequenceID: UInt64, publishTime: UInt64) -> SendFrameFields {
        var fields = SendFrameFields(producerID: producerID, sequenceID: sequenceID, producerName: producerName, publishTime: publishTime)
        fields.partitionKey = message.key
        fields.eventTime = message.eventTime
        if !message.properties.isEmpty { fields.properties = Self.sortedProperties(message.properties) }
        return fields
    }

    private func encode(_ fields: SendFrameFields, payload: ByteBuffer) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: payload.readableBytes + 96 + producerName.utf8.count)
        SendFrameEncoder.write(fields, payload: payload, into: &buffer)
        return buffer
    }

    /// Many messages in one SEND: `sequence_id` = first, `highest_sequence_id` = last.
    func batch(_ messages: [(sequenceID: UInt64, message: PulsarOutgoingMessage)], publishTime: UInt64) throws(PulsarClientError) -> ByteBuffer {
        guard let first = messages.first, let last = messages.last else {
            throw PulsarClientError(code: .invalidMessage, message: "empty batch")
        }
        var body = allocator.buffer(capacity: messages.reduce(0) { $0 + $1.message.payload.readableBytes + 64 + $1.message.properties.count * 48 })
        for (sequenceID, message) in messages {
            BatchEntryEncoder.write(
                sequenceID: sequenceID,
                key: message.key,
                eventTime: message.eventTime,
                properties: message.properties.isEmpty ? [] : Self.sortedProperties(message.properties),
                payload: message.payload,
                into: &body)
        }
        var fields = SendFrameFields(producerID: producerID, sequenceID: first.sequenceID, producerName: producerName, publishTime: publishTime)
        fields.highestSequenceID = last.sequenceID
        fields.numMessages = Int32(messages.count)
        fields.numMessagesInBatch = Int32(messages.count)
        let payload = try compressIfNeeded(body, fields: &fields)
        var buffer = allocator.buffer(capacity: payload.readableBytes + 96 + producerName.utf8.count)
        SendFrameEncoder.write(fields, payload: payload, into: &buffer)
        return buffer
    }

    private func compressIfNeeded(_ payload: ByteBuffer, fields: inout SendFrameFields) throws(PulsarClientError) -> ByteBuffer {
        guard compression != .none else { return payload }
        fields.compression = compression.proto
        fields.uncompressedSize = UInt32(payload.readableBytes)
        do {
            return try ZlibCompression.compress(payload, allocator: allocator)
        } catch {
            throw PulsarClientError(code: .invalidMessage, message: "compression failed", underlying: error)
        }
    }

    static func sortedProperties(_ properties: [String: String]) -> [(key: String, value: String)] {
        // Sorted so that the same message always serializes to the same bytes.
        var pairs = Array(properties)
        pairs.sort { $0.key < $1.key }
        return pairs
    }
}
