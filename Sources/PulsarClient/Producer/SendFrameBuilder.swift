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
        var body = allocator.buffer(capacity: messages.reduce(0) { $0 + $1.message.payload.readableBytes + 32 })
        for (sequenceID, message) in messages {
            var single = Pulsar_Proto_SingleMessageMetadata()
            single.payloadSize = Int32(message.payload.readableBytes)
            single.sequenceID = sequenceID
            if let key = message.key { single.partitionKey = key }
            if let eventTime = message.eventTime { single.eventTime = eventTime }
            if !message.properties.isEmpty { single.properties = Self.keyValues(message.properties) }
            let bytes: [UInt8]
            do {
                bytes = try PulsarFrameEncoder.serialize(single)
            } catch {
                throw PulsarClientError(code: .invalidMessage, message: "cannot encode a batch entry", underlying: error)
            }
            body.writeInteger(UInt32(bytes.count))
            body.writeBytes(bytes)
            body.writeImmutableBuffer(message.payload)
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
        properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    static func keyValues(_ properties: [String: String]) -> [Pulsar_Proto_KeyValue] {
        // Sorted so that the same message always serializes to the same bytes.
        properties.sorted { $0.key < $1.key }.map { key, value in
            var pair = Pulsar_Proto_KeyValue()
            pair.key = key
            pair.value = value
            return pair
        }
    }
}
