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

    public init(
        subscriptionType: SubscriptionType = .exclusive,
        initialPosition: InitialPosition = .latest,
        receiverQueueSize: Int = 1000,
        consumerName: String? = nil
    ) {
        self.subscriptionType = subscriptionType
        self.initialPosition = initialPosition
        self.receiverQueueSize = receiverQueueSize
        self.consumerName = consumerName
    }

    func validate() throws(PulsarConsumerError) {
        guard receiverQueueSize >= 1, receiverQueueSize <= Int(Int32.max) else {
            throw PulsarConsumerError(code: .invalidOptions, detail: "receiverQueueSize must be between 1 and \(Int32.max), got \(receiverQueueSize)")
        }
        if let consumerName, consumerName.isEmpty {
            throw PulsarConsumerError(code: .invalidOptions, detail: "consumerName must not be empty (use nil to let the broker choose)")
        }
    }
}
