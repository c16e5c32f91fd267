/// How a producer behaves.
public struct ProducerOptions: Sendable {
    /// Stable name (needed for broker deduplication); nil lets the broker choose one.
    public var name: String?
    /// A message without a receipt after this long fails. `.zero` waits forever.
    public var sendTimeout: Duration = .seconds(30)
    /// Messages sent but not yet acknowledged; `send` / `sendAsync` suspend while this many are pending.
    public var maxPendingMessages: Int = 1000
    /// Group messages into batches (nil = every message is its own SEND).
    public var batching: BatchingOptions?
    /// Compression of each SEND's payload (single message or whole batch).
    public var compression: CompressionType = .none
    /// Send a message whose (compressed) payload exceeds the broker's maximum message size as a
    /// chunked message: several SENDs that consumers reassemble. Off: such a message fails with
    /// `.messageTooLarge`. Chunked messages are never batched. Consumers need an Exclusive,
    /// Failover or Key_Shared subscription to see every chunk of a message.
    public var chunking: Bool = false

    public init(
        name: String? = nil, sendTimeout: Duration = .seconds(30), maxPendingMessages: Int = 1000,
        batching: BatchingOptions? = nil, compression: CompressionType = .none, chunking: Bool = false
    ) {
        self.name = name
        self.sendTimeout = sendTimeout
        self.maxPendingMessages = maxPendingMessages
        self.batching = batching
        self.compression = compression
        self.chunking = chunking
    }
}

/// When to close a batch: whichever limit is reached first.
public struct BatchingOptions: Sendable {
    public var maxMessages: Int = 1000
    public var maxBytes: Int = 128 * 1024
    /// How long the first message of a batch may wait for company. `.zero` closes the batch on
    /// the connection's next event-loop turn: batches then form only while the client is busy,
    /// so a lone message is not delayed (low latency at low rates, big batches under load).
    public var maxDelay: Duration = .milliseconds(10)

    public init(maxMessages: Int = 1000, maxBytes: Int = 128 * 1024, maxDelay: Duration = .milliseconds(10)) {
        self.maxMessages = maxMessages
        self.maxBytes = maxBytes
        self.maxDelay = maxDelay
    }
}

public enum CompressionType: Sendable, Hashable {
    case none
    case zlib

    var proto: Pulsar_Proto_CompressionType {
        switch self {
        case .none: return .none
        case .zlib: return .zlib
        }
    }
}
