import NIOCore

/// Builds the serialized SEND frames that go into the pending queue.
struct SendFrameBuilder {
    var producerID: UInt64
    var producerName: String
    var compression: CompressionType
    let allocator = ByteBufferAllocator()

    /// One message, one SEND.
    func single(_ message: PulsarOutgoingMessage, sequenceID: UInt64, publishTime: UInt64) throws(PulsarClientError) -> ByteBuffer {
        var fields = SendFrameFields(producerID: producerID, sequenceID: sequenceID, producerName: producerName, publishTime: publishTime)
        fields.partitionKey = message.key
        fields.eventTime = message.eventTime
        if !message.properties.isEmpty { fields.properties = Self.sortedProperties(message.properties) }
        let payload = try compressIfNeeded(message.payload, fields: &fields)
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
