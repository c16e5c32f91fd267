import DequeModule
import Synchronization

/// Bounds the events handed to the broker and not yet acked. `acquire()` suspends when the window
/// is full; the reader stops pulling from the stream, which is how backpressure reaches Postgres.
public final class InFlightWindow: Sendable {
    private struct State {
        var used = 0
        var waiters: Deque<(id: UInt64, continuation: CheckedContinuation<Void, any Error>)> = []
        var nextWaiterID: UInt64 = 0
    }

    public let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    public var used: Int { state.withLock { $0.used } }

    /// Takes one slot, waiting for an ack if all are used. Throws `CancellationError` if cancelled.
    public func acquire() async throws {
        let id: UInt64? = state.withLock { state in
            if state.used < capacity && state.waiters.isEmpty {
                state.used += 1
                return nil
            }
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: Bool = state.withLock { state in
                    if Task.isCancelled { return true }
                    if state.used < capacity && state.waiters.isEmpty {
                        state.used += 1
                        continuation.resume()
                        return false
                    }
                    state.waiters.append((id, continuation))
                    return false
                }
                if resumeNow { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            cancelled?.resume(throwing: CancellationError())
        }
    }

    /// Returns one slot (an ack or a failure arrived).
    public func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            state.used -= 1
            guard let waiter = state.waiters.popFirst() else { return nil }
            state.used += 1
            return waiter.continuation
        }
        next?.resume()
    }

    /// Waits until nothing is in flight (graceful shutdown, under a timeout). Polls, so that a
    /// cancelled drain returns at once.
    public func waitUntilEmpty(pollInterval: Duration = .milliseconds(5)) async throws {
        while used > 0 {
            try await Task.sleep(for: pollInterval)
        }
    }
}
