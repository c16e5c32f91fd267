import PulsarClient

/// One received message as the inbox sees it: the broker's message and the event id it is
/// deduplicated by (the `event_id` property the relay sets; nil when absent or not an integer).
public struct InboxEntry: Sendable, Hashable {
    public var message: PulsarMessage
    public var eventID: Int64?

    public init(message: PulsarMessage) {
        self.message = message
        self.eventID = message.properties[Self.eventIDProperty].flatMap { Int64($0) }
    }

    public init(message: PulsarMessage, eventID: Int64?) {
        self.message = message
        self.eventID = eventID
    }

    /// The property the relay writes (`OutboxMessage`): the outbox row's id, stable across replays.
    public static let eventIDProperty = "event_id"

    public var id: PulsarMessageID { message.id }
}

/// Several entries handled in one transaction, in arrival order.
public struct InboxBatch: Sendable, Hashable {
    public var entries: [InboxEntry]

    public init(_ entries: [InboxEntry]) { self.entries = entries }

    public var ids: [PulsarMessageID] { entries.map(\.id) }
    public var count: Int { entries.count }
}

/// Why a message went to the dead-letter topic.
public enum InboxDeadLetterReason: Sendable, Hashable {
    /// The handler failed on it `max_redeliveries + 1` times.
    case handlerFailed(attempts: Int, lastError: String)
    /// It has no usable `event_id` property, so it cannot be deduplicated.
    case missingEventID

    public var description: String {
        switch self {
        case .handlerFailed(let attempts, let lastError): "handler failed \(attempts) times: \(lastError)"
        case .missingEventID: "no integer \(InboxEntry.eventIDProperty) property"
        }
    }
}
