import NIOCore

/// A message received by a `PulsarConsumer`. For a batch, each item is its own `PulsarMessage`
/// with the batch's publish time and producer name and its own key, properties and sequence id.
public struct PulsarMessage: Sendable, Hashable {
    public var id: PulsarMessageID
    public var topic: String
    public var payload: ByteBuffer
    public var key: String?
    public var properties: [String: String]
    /// Milliseconds since the Unix epoch, set by the producer's client when it sent the message.
    public var publishTime: UInt64
    /// Milliseconds since the Unix epoch, set by the application; nil when absent.
    public var eventTime: UInt64?
    public var producerName: String
    public var sequenceID: Int64
    /// How many times the broker delivered this message before (0 on first delivery).
    public var redeliveryCount: UInt32
    /// For a reassembled chunked message, every chunk's id (first to last; `id` is the last
    /// one's, and acknowledging it acknowledges them all). Empty for an ordinary message.
    public var chunkIDs: [PulsarMessageID] = []

    public init(
        id: PulsarMessageID,
        topic: String,
        payload: ByteBuffer,
        key: String? = nil,
        properties: [String: String] = [:],
        publishTime: UInt64,
        eventTime: UInt64? = nil,
        producerName: String,
        sequenceID: Int64,
        redeliveryCount: UInt32 = 0
    ) {
        self.id = id
        self.topic = topic
        self.payload = payload
        self.key = key
        self.properties = properties
        self.publishTime = publishTime
        self.eventTime = eventTime
        self.producerName = producerName
        self.sequenceID = sequenceID
        self.redeliveryCount = redeliveryCount
    }

    /// The payload as bytes.
    public var payloadBytes: [UInt8] { Array(payload.readableBytesView) }
}
