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
        /// A publish failed for good; confirmation is stopped until the session restarts.
        case failed
        case stopping
    }

    private let state = Mutex<(status: Status, detail: String?)>((.starting, nil))

    public init() {}

    public var status: Status { state.withLock { $0.status } }
    public var detail: String? { state.withLock { $0.detail } }

    /// Ready means events flow: only while streaming.
    public var isReady: Bool { status == .streaming }

    /// Returns true when the status changed (so callers log once per change).
    @discardableResult
    public func set(_ status: Status, detail: String? = nil) -> Bool {
        state.withLock { current in
            let changed = current.status != status
            current = (status, detail)
            return changed
        }
    }
}
