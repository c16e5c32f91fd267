import Synchronization

/// Thrown by ``withDeadline(_:operation:)`` when the operation did not finish in time.
public struct DeadlineExceeded: Error, Sendable, Equatable {
    public var limit: Duration
}

/// Runs `operation` but returns (throwing ``DeadlineExceeded``) once `limit` has passed, even if
/// the operation ignores cancellation: a request waiting on a database that vanished must fail in
/// bounded time instead of holding the client forever. The operation is cancelled on timeout.
public func withDeadline<T: Sendable>(
    _ limit: Duration,
    operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let race = DeadlineRace<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            race.start(continuation: continuation, limit: limit, operation: operation)
        }
    } onCancel: {
        race.cancel()
    }
}

/// One-shot arbiter between the operation and its timer: whichever finishes first resumes the
/// continuation and cancels the other.
private final class DeadlineRace<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var operationTask: Task<Void, Never>?
        var timerTask: Task<Void, Never>?
        var cancelledEarly = false
    }
    private let state = Mutex(State())

    func start(continuation: CheckedContinuation<T, any Error>, limit: Duration, operation: @escaping @Sendable () async throws -> T) {
        let cancelled = state.withLock { (state: inout State) -> Bool in
            if state.cancelledEarly { return true }
            state.continuation = continuation
            return false
        }
        if cancelled {
            continuation.resume(throwing: CancellationError())
            return
        }
        let operationTask = Task {
            let result: Result<T, any Error>
            do { result = .success(try await operation()) } catch { result = .failure(error) }
            self.finish(with: result)
        }
        let timerTask = Task {
            do {
                try await Task.sleep(for: limit)
                self.finish(with: .failure(DeadlineExceeded(limit: limit)))
            } catch {
                // Cancelled because the operation finished first.
            }
        }
        state.withLock { state in
            state.operationTask = operationTask
            state.timerTask = timerTask
        }
    }

    func cancel() {
        finish(with: .failure(CancellationError()), markCancelled: true)
    }

    private func finish(with result: Result<T, any Error>, markCancelled: Bool = false) {
        let (continuation, tasks) = state.withLock { (state: inout State) -> (CheckedContinuation<T, any Error>?, [Task<Void, Never>]) in
            if markCancelled && state.continuation == nil { state.cancelledEarly = true }
            let continuation = state.continuation
            state.continuation = nil
            return (continuation, [state.operationTask, state.timerTask].compactMap { $0 })
        }
        guard let continuation else { return }
        for task in tasks { task.cancel() }
        continuation.resume(with: result)
    }
}
