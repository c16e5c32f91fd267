import PulsarClient

/// What a failure means for the relay. The one taxonomy: the session, the connector and the
/// publisher all ask `FailureClassifier`.
public enum FailureClass: Sendable, Hashable, CustomStringConvertible {
    /// Connection loss, a broker or server that is away, a timeout: restart the session with backoff.
    case transient
    /// This one row cannot become a message (it does not map, is too large, or the broker rejects
    /// it for good): dead-letter it or halt on it, by policy. Retrying cannot help.
    case eventPermanent
    /// The slot is lost, vanished or replaced: streaming on would silently skip events.
    case streamFatal
    /// Another relay streams from the slot: wait as a standby.
    case slotBusy

    public var description: String {
        switch self {
        case .transient: "transient"
        case .eventPermanent: "event-permanent"
        case .streamFatal: "stream-fatal"
        case .slotBusy: "slot-busy"
        }
    }
}

/// Maps every error the relay can see to one `FailureClass`. Pure; anything unknown is transient
/// (a restart from the slot loses nothing).
public enum FailureClassifier {
    public static func classify(_ error: any Error) -> FailureClass {
        switch error {
        case let error as RelayError:
            return classify(error)
        case let error as ReplicationError:
            return classify(error.code)
        case let error as RelayPipelineError:
            return classify(error)
        case is OutboxMappingError:
            return .eventPermanent
        case let error as PulsarClientError:
            return classify(error.code)
        default:
            return .transient
        }
    }

    static func classify(_ error: RelayError) -> FailureClass {
        switch error.code {
        case .invalidEvent: return .eventPermanent
        case .fatalReplication, .invalidConfiguration: return .streamFatal
        // A handed-over event the broker failed: the session restarts; an event the broker refused
        // for good was recorded, and the next session dead-letters it (or halts) in WAL order.
        case .publishFailed: return .transient
        default:
            guard let underlying = error.underlying else { return .transient }
            return classify(underlying)
        }
    }

    static func classify(_ error: RelayPipelineError) -> FailureClass {
        switch error.code {
        case .mapping: return .eventPermanent
        // WAL beyond what the sequence-id scheme can number: no restart changes that.
        case .sequenceOutOfRange: return .streamFatal
        default: return .transient
        }
    }

    static func classify(_ code: ReplicationError.Code) -> FailureClass {
        switch code {
        case .slotBusy: return .slotBusy
        case .slotLost, .slotVanished, .slotReplaced, .slotMismatch: return .streamFatal
        default: return .transient
        }
    }

    /// A broker answer that names the message or its topic as the problem is permanent for that
    /// event; everything about connections, fencing or load is transient.
    static func classify(_ code: PulsarClientError.Code) -> FailureClass {
        switch code {
        case .messageTooLarge, .invalidMessage, .topicNotFound, .topicTerminated, .notAllowed:
            return .eventPermanent
        default:
            return .transient
        }
    }
}
