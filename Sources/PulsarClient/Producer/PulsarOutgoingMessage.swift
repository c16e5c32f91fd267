import NIOCore

/// A message to publish.
public struct PulsarOutgoingMessage: Sendable {
    public var payload: ByteBuffer
    /// Partition key: routes the message on partitioned topics and orders it on Key_Shared subscriptions.
    public var key: String?
    public var properties: [String: String]
    /// Application event time, milliseconds since the Unix epoch.
    public var eventTime: UInt64?
    /// Explicit sequence id (e.g. derived from a WAL position); nil = the producer's counter.
    public var sequenceID: Int64?

    public init(payload: ByteBuffer, key: String? = nil, properties: [String: String] = [:], eventTime: UInt64? = nil, sequenceID: Int64? = nil) {
        self.payload = payload
        self.key = key
        self.properties = properties
        self.eventTime = eventTime
        self.sequenceID = sequenceID
    }

    public init(_ bytes: [UInt8], key: String? = nil, properties: [String: String] = [:], eventTime: UInt64? = nil, sequenceID: Int64? = nil) {
        self.init(payload: ByteBuffer(bytes: bytes), key: key, properties: properties, eventTime: eventTime, sequenceID: sequenceID)
    }

    public init(_ string: String, key: String? = nil, properties: [String: String] = [:], eventTime: UInt64? = nil, sequenceID: Int64? = nil) {
        self.init(payload: ByteBuffer(string: string), key: key, properties: properties, eventTime: eventTime, sequenceID: sequenceID)
    }
}
