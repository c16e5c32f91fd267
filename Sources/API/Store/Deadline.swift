import NIOCore
import NIOPosix
import Synchronization

/// Thrown by ``withDeadline(_:operation:)`` when the operation did not finish in time.
public struct DeadlineExceeded: Error, Sendable, Equatable {
    public var limit: Duration
}

/// Runs `operation` but returns (throwing ``DeadlineExceeded``) once `limit` has passed, even if
/// the operation ignores cancellation: a request waiting on a database that vanished must fail in
/// bounded time instead of holding the client forever. The operation is cancelled on timeout.
/// The timer is an event-loop timer, not a sleeping task: this runs for every database call.
public func withDeadline<T: Sendable>(
    _ limit: Duration,
    on eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any(),
    operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let race = DeadlineRace<T>(eventLoop: eventLoop)
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
        var timer: Scheduled<Void>?
        var cancelledEarly = false
    }
    private let state = Mutex(State())
    private let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

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
        let timer = eventLoop.scheduleTask(in: TimeAmount(limit)) {
            self.finish(with: .failure(DeadlineExceeded(limit: limit)))
        }
        let finishedAlready = state.withLock { state in
            state.operationTask = operationTask
            state.timer = timer
            return state.continuation == nil
        }
        if finishedAlready {
            // The operation won before the handles were stored: nothing else will stop these.
            timer.cancel()
            operationTask.cancel()
        }
    }

    func cancel() {
        finish(with: .failure(CancellationError()), markCancelled: true)
    }

    private func finish(with result: Result<T, any Error>, markCancelled: Bool = false) {
        let (continuation, task, timer) = state.withLock { state in
            if markCancelled && state.continuation == nil { state.cancelledEarly = true }
            let continuation = state.continuation
            state.continuation = nil
            return (continuation, state.operationTask, state.timer)
        }
        guard let continuation else { return }
        timer?.cancel()
        task?.cancel()
        continuation.resume(with: result)
    }
}
