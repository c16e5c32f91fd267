import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A request from async code to the session thread.
enum SessionCommand: Sendable {
    case identifySystem(CheckedContinuation<SystemIdentity, any Error>)
    case execute(String, CheckedContinuation<QueryResult, any Error>)
    case startReplication(LSN, CheckedContinuation<ReplicationStream, any Error>)
    /// nil continuation: the session was released without `close()`.
    case close(CheckedContinuation<Void, Never>?)

    func fail(_ error: ReplicationError) {
        switch self {
        case .identifySystem(let continuation): continuation.resume(throwing: error)
        case .execute(_, let continuation): continuation.resume(throwing: error)
        case .startReplication(_, let continuation): continuation.resume(throwing: error)
        case .close(let continuation): continuation?.resume()
        }
    }
}

/// Everything async code hands to the session thread: commands, status updates and consumer
/// demand, behind one lock, plus a self-pipe that wakes the thread out of `poll()`.
final class SessionMailbox: Sendable {
    struct State {
        var commands: [SessionCommand] = []
        var statusUpdates: [StandbyStatusUpdate] = []
        /// Bumped on every `produceMore` from the stream.
        var demandGeneration: UInt64 = 0
        var consumerTerminated = false
        var isStreaming = false
        /// Why the last stream ended, for `sendStatus` after the fact.
        var streamFailure: ReplicationError?
        var closing = false
        var threadStarted = false
        var pipeOpen = true
    }

    struct Snapshot {
        var commands: [SessionCommand]
        var statusUpdates: [StandbyStatusUpdate]
        var demandGeneration: UInt64
        var consumerTerminated: Bool
    }

    private let state = Mutex(State())
    let wakeReadFD: Int32
    private let wakeWriteFD: Int32

    init() throws(ReplicationError) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw ReplicationError(code: .connectionFailed, message: "could not create the wakeup pipe: errno \(errno)")
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeReadFD = fds[0]
        wakeWriteFD = fds[1]
    }

    /// Queues a command; returns true when the caller must start the thread.
    func submit(_ command: SessionCommand) -> Bool {
        let outcome: (accepted: Bool, startThread: Bool) = state.withLock { state in
            guard !state.closing else { return (false, false) }
            if case .close = command, !state.threadStarted {
                // Nothing ever ran: no thread to stop, only the pipe to close.
                state.closing = true
                state.pipeOpen = false
                close(wakeReadFD)
                close(wakeWriteFD)
                return (false, false)
            }
            if case .close = command { state.closing = true }
            state.commands.append(command)
            let start = !state.threadStarted
            state.threadStarted = true
            if state.pipeOpen { wakeLocked() }
            return (true, start)
        }
        if !outcome.accepted {
            command.fail(ReplicationError(code: .sessionClosed, message: "the replication session is closed"))
        }
        return outcome.startThread
    }

    func enqueueStatus(_ update: StandbyStatusUpdate) throws(ReplicationError) {
        let failure: ReplicationError? = state.withLock { state in
            if state.closing {
                return ReplicationError(code: .sessionClosed, message: "the replication session is closed")
            }
            guard state.isStreaming else {
                return state.streamFailure
                    ?? ReplicationError(code: .invalidState, message: "status update sent while not streaming")
            }
            state.statusUpdates.append(update)
            wakeLocked()
            return nil
        }
        if let failure { throw failure }
    }

    func consumerWantsMore() {
        state.withLock { state in
            state.demandGeneration &+= 1
            if state.pipeOpen { wakeLocked() }
        }
    }

    func consumerTerminated() {
        state.withLock { state in
            state.consumerTerminated = true
            if state.pipeOpen { wakeLocked() }
        }
    }

    /// Thread side: drain the wakeup pipe, then take what is queued.
    func take() -> Snapshot {
        var scratch = [UInt8](repeating: 0, count: 64)
        while read(wakeReadFD, &scratch, scratch.count) > 0 {}
        return state.withLock { state in
            defer {
                state.commands.removeAll()
                state.statusUpdates.removeAll()
            }
            return Snapshot(
                commands: state.commands,
                statusUpdates: state.statusUpdates,
                demandGeneration: state.demandGeneration,
                consumerTerminated: state.consumerTerminated
            )
        }
    }

    func streamStarted() {
        state.withLock { state in
            state.isStreaming = true
            state.consumerTerminated = false
            state.streamFailure = nil
        }
    }

    func streamEnded(_ failure: ReplicationError?) {
        state.withLock { state in
            state.isStreaming = false
            state.streamFailure = failure
        }
    }

    /// Thread side, on exit: refuse further work, fail what is queued, close the pipe.
    func shutDown() {
        let leftovers: [SessionCommand] = state.withLock { state in
            state.closing = true
            state.isStreaming = false
            state.pipeOpen = false
            close(wakeReadFD)
            close(wakeWriteFD)
            defer { state.commands.removeAll() }
            return state.commands
        }
        for command in leftovers {
            command.fail(ReplicationError(code: .sessionClosed, message: "the replication session is closed"))
        }
    }

    /// Called with the lock held, so the pipe cannot be closed underneath.
    private func wakeLocked() {
        var byte: UInt8 = 1
        _ = write(wakeWriteFD, &byte, 1)
    }
}
