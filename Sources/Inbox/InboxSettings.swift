import OutboxCore
import PulsarClient

/// What the inbox consumes and how (see `inbox.*` and `projector.*` in the configuration).
public struct InboxSettings: Sendable, Hashable {
    public var topic: String
    public var subscription: String
    /// Key_Shared or Failover: both keep one key's messages on one consumer, in order.
    public var subscriptionType: SubscriptionType
    /// Independent sequences of transactions; a message's key picks its lane.
    public var lanes: Int
    public var machine: InboxStateMachine.Settings
    /// Messages received but not yet acknowledged, over all lanes; the reader waits beyond it.
    public var maxInFlight: Int
    /// Inbox rows older than this are deleted (a redelivery older than that is processed again).
    public var retention: Duration
    /// How long a graceful shutdown waits for the lanes to finish what they received.
    public var drainTimeout: Duration

    public init(
        topic: String,
        subscription: String,
        subscriptionType: SubscriptionType = .failover,
        lanes: Int = 8,
        machine: InboxStateMachine.Settings = .init(),
        maxInFlight: Int = 2000,
        retention: Duration = .seconds(14 * 24 * 3600),
        drainTimeout: Duration = .seconds(10)
    ) {
        self.topic = topic
        self.subscription = subscription
        self.subscriptionType = subscriptionType
        self.lanes = max(1, lanes)
        self.machine = machine
        self.maxInFlight = max(1, maxInFlight)
        self.retention = retention
        self.drainTimeout = drainTimeout
    }

    /// Pulsar's convention for a subscription's dead-letter topic.
    public var deadLetterTopic: String { "\(topic)-\(subscription)-DLQ" }
}
