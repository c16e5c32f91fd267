import NIOCore

/// What one MESSAGE frame (one ledger entry) turns into.
struct DecodedEntry: Sendable {
    /// The messages to hand to the application, in batch order.
    var messages: [PulsarMessage]
    /// Batch items dropped before delivery (compacted out, or already acknowledged); they still
    /// consumed broker permits, so the consumer gives those back.
    var skipped: Int
    /// Number of items in the entry when it is a batch, nil for a plain message.
    var batchSize: Int?
}

/// Turns a MESSAGE command plus its (checksum-verified) payload into `PulsarMessage`s: inflates
/// the payload, splits batches and drops the items the broker or we already know are acknowledged.
struct IncomingMessageDecoder: Sendable {
    var topic: String
    var decompressor = PayloadDecompressor()

    /// - Parameter locallyAcked: batch indexes of this entry the application already acknowledged
    ///   (kept across reconnects, because a batch is only acknowledged to the broker as a whole).
    func decode(
        command: Pulsar_Proto_CommandMessage,
        metadata: Pulsar_Proto_MessageMetadata,
        body: ByteBuffer,
        locallyAcked: Set<Int> = []
    ) throws(PulsarConsumerError) -> DecodedEntry {
        let entry = command.messageID
        let entryID = PulsarMessageID(ledgerID: entry.ledgerID, entryID: entry.entryID, partition: entry.partition, batchIndex: -1)
        do {
            return try decodeChecked(command: command, metadata: metadata, body: body, locallyAcked: locallyAcked)
        } catch var error {
            error.messageID = error.messageID ?? entryID
            throw error
        }
    }

    private func decodeChecked(
        command: Pulsar_Proto_CommandMessage,
        metadata: Pulsar_Proto_MessageMetadata,
        body: ByteBuffer,
        locallyAcked: Set<Int>
    ) throws(PulsarConsumerError) -> DecodedEntry {
        if metadata.hasNumChunksFromMsg, metadata.numChunksFromMsg > 1 {
            // The consumer's state machine reassembles chunks first; a lone chunk is not a message.
            throw PulsarConsumerError(code: .unsupportedFeature, detail: "a chunk (one of \(metadata.numChunksFromMsg)) cannot be decoded before reassembly")
        }
        if let codec = UnknownCompressionProbe.unknownCodec(in: metadata) {
            throw PulsarConsumerError(
                code: .unsupportedCompression,
                detail: "compression \(PayloadDecompressor.Codec(rawValue: codec)) is not supported"
            )
        }
        if metadata.compression != .none, !metadata.hasUncompressedSize {
            throw PulsarConsumerError(code: .malformedMetadata, detail: "compressed payload without uncompressed_size")
        }
        let uncompressedSize = metadata.hasUncompressedSize ? Int(metadata.uncompressedSize) : body.readableBytes
        let payload = try decompressor.decompress(
            body,
            codec: PayloadDecompressor.Codec(rawValue: metadata.compression.rawValue),
            uncompressedSize: uncompressedSize
        )
        let entry = command.messageID
        let redeliveryCount = command.redeliveryCount
        let batchProperties = Self.properties(metadata.properties)
        let batchEventTime: UInt64? = metadata.eventTime == 0 ? nil : metadata.eventTime

        guard metadata.hasNumMessagesInBatch else {
            let id = PulsarMessageID(ledgerID: entry.ledgerID, entryID: entry.entryID, partition: entry.partition, batchIndex: -1)
            let message = PulsarMessage(
                id: id,
                topic: topic,
                payload: payload,
                key: metadata.hasPartitionKey ? metadata.partitionKey : nil,
                properties: batchProperties,
                publishTime: metadata.publishTime,
                eventTime: batchEventTime,
                producerName: metadata.producerName,
                sequenceID: Int64(bitPattern: metadata.sequenceID),
                redeliveryCount: redeliveryCount
            )
            return DecodedEntry(messages: [message], skipped: 0, batchSize: nil)
        }

        let count = Int(metadata.numMessagesInBatch)
        guard count > 0 else {
            throw PulsarConsumerError(code: .malformedMetadata, detail: "num_messages_in_batch is \(count)")
        }
        let items = try BatchPayloadParser.split(payload, count: count)
        var messages: [PulsarMessage] = []
        messages.reserveCapacity(items.count)
        var skipped = 0
        for (index, item) in items.enumerated() {
            let single = item.metadata
            if single.compactedOut || locallyAcked.contains(index) || !Self.brokerStillExpects(index, ackSet: command.ackSet) {
                skipped += 1
                continue
            }
            let eventTime: UInt64? = single.hasEventTime && single.eventTime != 0 ? single.eventTime : batchEventTime
            let sequenceID = single.hasSequenceID ? single.sequenceID : metadata.sequenceID &+ UInt64(index)
            messages.append(
                PulsarMessage(
                    id: PulsarMessageID(ledgerID: entry.ledgerID, entryID: entry.entryID, partition: entry.partition, batchIndex: Int32(index)),
                    topic: topic,
                    payload: item.payload,
                    key: single.hasPartitionKey ? single.partitionKey : nil,
                    properties: Self.properties(single.properties),
                    publishTime: metadata.publishTime,
                    eventTime: eventTime,
                    producerName: metadata.producerName,
                    sequenceID: Int64(bitPattern: sequenceID),
                    redeliveryCount: redeliveryCount
                )
            )
        }
        return DecodedEntry(messages: messages, skipped: skipped, batchSize: count)
    }

    /// `CommandMessage.ack_set` is a bit set (64 bits per word, lowest bit first) of the batch
    /// items still unacknowledged; an empty set means "all of them".
    static func brokerStillExpects(_ index: Int, ackSet: [Int64]) -> Bool {
        guard !ackSet.isEmpty else { return true }
        let word = index / 64
        guard word < ackSet.count else { return false }
        return (UInt64(bitPattern: ackSet[word]) >> UInt64(index % 64)) & 1 == 1
    }

    static func properties(_ pairs: [Pulsar_Proto_KeyValue]) -> [String: String] {
        var result: [String: String] = [:]
        for pair in pairs { result[pair.key] = pair.value }
        return result
    }
}
