/// How a subscription hands messages to its consumers.
public enum SubscriptionType: Sendable, Hashable, CaseIterable {
    /// One consumer at a time; a second one is refused.
    case exclusive
    /// Messages spread round-robin over all consumers; acknowledgements are individual only.
    case shared
    /// One active consumer, the others take over when it leaves.
    case failover
    /// Messages with the same key always go to the same consumer.
    case keyShared

    var wireValue: Pulsar_Proto_CommandSubscribe.SubType {
        switch self {
        case .exclusive: .exclusive
        case .shared: .shared
        case .failover: .failover
        case .keyShared: .keyShared
        }
    }

    /// Cumulative acknowledgement only makes sense when one consumer sees the whole order.
    var allowsCumulativeAck: Bool { self == .exclusive || self == .failover }
}

/// Where a brand-new subscription starts reading. An existing subscription keeps its position.
public enum InitialPosition: Sendable, Hashable {
    case latest
    case earliest

    var wireValue: Pulsar_Proto_CommandSubscribe.InitialPosition {
        switch self {
        case .latest: .latest
        case .earliest: .earliest
        }
    }
}

public struct ConsumerOptions: Sendable, Hashable {
    public var subscriptionType: SubscriptionType
    public var initialPosition: InitialPosition
    /// Messages the broker may push ahead of the application (FLOW permits); refilled when the
    /// application has taken half of them.
    public var receiverQueueSize: Int
    /// Shown in broker stats; the broker makes one up when nil.
    public var consumerName: String?
    /// Chunked messages (sent in pieces because they exceed the broker's maximum message size)
    /// are reassembled before delivery. At most this many can be incomplete at a time; beyond it
    /// the oldest incomplete one is dropped (see `acknowledgeDroppedChunkedMessages`).
    /// Reassembly needs every chunk of a message on this consumer: use an Exclusive, Failover or
    /// Key_Shared subscription (or a single Shared consumer) for chunked topics.
    public var maxPendingChunkedMessages: Int
    /// Bytes the incomplete chunked messages may hold together; a message needing more than this
    /// on its own is never delivered (logged as an error).
    public var maxPendingChunkBytes: Int
    /// An incomplete chunked message whose first chunk arrived this long ago is dropped and its
    /// chunks acknowledged (its producer will not finish it). `.zero` keeps them until a limit hits.
    public var chunkExpiry: Duration
    /// A chunked message dropped because a limit was reached is acknowledged (lost) instead of
    /// asked for again (Java's `autoAckOldestChunkedMessageOnQueueFull`).
    public var acknowledgeDroppedChunkedMessages: Bool

    public init(
        subscriptionType: SubscriptionType = .exclusive,
        initialPosition: InitialPosition = .latest,
        receiverQueueSize: Int = 1000,
        consumerName: String? = nil,
        maxPendingChunkedMessages: Int = 10,
        maxPendingChunkBytes: Int = 128 * 1024 * 1024,
        chunkExpiry: Duration = .seconds(60),
        acknowledgeDroppedChunkedMessages: Bool = false
    ) {
        self.subscriptionType = subscriptionType
        self.initialPosition = initialPosition
        self.receiverQueueSize = receiverQueueSize
        self.consumerName = consumerName
        self.maxPendingChunkedMessages = maxPendingChunkedMessages
        self.maxPendingChunkBytes = maxPendingChunkBytes
        self.chunkExpiry = chunkExpiry
        self.acknowledgeDroppedChunkedMessages = acknowledgeDroppedChunkedMessages
    }

    func validate() throws(PulsarConsumerError) {
        guard receiverQueueSize >= 1, receiverQueueSize <= Int(Int32.max) else {
            throw PulsarConsumerError(code: .invalidOptions, detail: "receiverQueueSize must be between 1 and \(Int32.max), got \(receiverQueueSize)")
        }
        guard maxPendingChunkedMessages >= 1, maxPendingChunkBytes >= 1, chunkExpiry >= .zero else {
            throw PulsarConsumerError(code: .invalidOptions, detail: "maxPendingChunkedMessages and maxPendingChunkBytes must be at least 1 and chunkExpiry not negative")
        }
        if let consumerName, consumerName.isEmpty {
            throw PulsarConsumerError(code: .invalidOptions, detail: "consumerName must not be empty (use nil to let the broker choose)")
        }
    }
}
