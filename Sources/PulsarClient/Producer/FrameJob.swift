import NIOCore

/// A SEND entry whose frame(s) the owner builds outside the producer's lock (serializing and
/// compressing a batch is the costly part of a send), then hands back with `framesBuilt`.
struct FrameJob: Sendable {
    enum Content: Sendable {
        case single(sequenceID: UInt64, message: PulsarOutgoingMessage)
        case batch([(sequenceID: UInt64, message: PulsarOutgoingMessage)])
    }

    /// The machine's id of the entry this builds.
    var entryID: UInt64
    var content: Content
    var publishTime: UInt64
    var producerName: String
    var maxMessageSize: Int
    var chunking: Bool

    /// The frame(s) of this entry: several for a chunked message, otherwise one.
    func build(producerID: UInt64, compression: CompressionType) throws(PulsarClientError) -> [ByteBuffer] {
        let builder = SendFrameBuilder(producerID: producerID, producerName: producerName, compression: compression)
        switch content {
        case .single(let sequenceID, let message):
            return try builder.frames(message, sequenceID: sequenceID, publishTime: publishTime,
                                      maxMessageSize: maxMessageSize, chunking: chunking)
        case .batch(let items):
            let frame = try builder.batch(items, publishTime: publishTime)
            guard frame.readableBytes <= maxMessageSize else {
                throw PulsarClientError(
                    code: .messageTooLarge,
                    message: "batch of \(items.count) message(s), \(frame.readableBytes) bytes, exceeds the broker limit of \(maxMessageSize)")
            }
            return [frame]
        }
    }
}
