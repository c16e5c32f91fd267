import Synchronization

/// Readiness shared between the relay and the HTTP endpoints.
public final class HealthState: Sendable {
    public enum Status: String, Sendable, Hashable {
        case starting
        /// Streaming from the slot and publishing.
        case streaming
        /// Another relay holds the slot; this one waits as a standby.
        case standby
        /// Reconnecting after a database or broker fault.
        case reconnecting
        /// The relay cannot go on by itself: halted on an invalid event (`relay.invalid_event_policy`
        /// `halt`) or a lost slot. `detail` names the reason; nothing past it is confirmed.
        case failed
        case stopping
    }

    private let state = Mutex<(status: Status, detail: String?, haltedAt: UInt64?)>((.starting, nil, nil))
    private let deadLetters = Atomic<Int>(0)

    public init() {}

    public var status: Status { state.withLock { $0.status } }
    public var detail: String? { state.withLock { $0.detail } }
    /// Events this process sent to the dead-letter topic (acked there).
    public var deadLettered: Int { deadLetters.load(ordering: .relaxed) }

    public func countDeadLetter() {
        deadLetters.add(1, ordering: .relaxed)
    }

    /// Ready means events flow: only while streaming.
    public var isReady: Bool { status == .streaming }

    /// Returns true when the status changed (so callers log once per change). While halted on an
    /// invalid event the status stays `failed` (only `stopping` replaces it) until `confirmed`
    /// passes the event.
    @discardableResult
    public func set(_ status: Status, detail: String? = nil) -> Bool {
        state.withLock { current in
            if current.haltedAt != nil && status != .stopping { return false }
            let changed = current.status != status
            current = (status, detail, nil)
            return changed
        }
    }

    /// Halted on an invalid event in the transaction committed at `lsn`: `failed` with `detail`.
    @discardableResult
    public func halt(at lsn: UInt64, detail: String) -> Bool {
        state.withLock { current in
            let changed = current.status != .failed
            current = (.failed, detail, lsn)
            return changed
        }
    }

    /// The slot's confirmed position moved to `lsn`: past a halt point, the relay streams again.
    /// Returns true when that ended a halt.
    @discardableResult
    public func confirmed(_ lsn: UInt64) -> Bool {
        state.withLock { current in
            guard let haltedAt = current.haltedAt, lsn > haltedAt else { return false }
            current = (.streaming, nil, nil)
            return true
        }
    }
}
