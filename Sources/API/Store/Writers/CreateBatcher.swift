import Synchronization

/// Runs product creates (those without an Idempotency-Key) through ``CreateBatchStateMachine``.
/// The request whose create starts a statement runs it and hands every other request in the batch
/// its own outcome, so batching needs no background task: a queued request simply waits for a
/// runner, or becomes the runner of the next batch.
///
/// A queued create is not withdrawn when its request is cancelled: like a statement already sent,
/// it completes, and the product exists (the client sees a dropped connection, as with any write).
/// A cancelled request that runs a batch still runs it whole, for the others in it.
final class CreateBatcher: Sendable {
    typealias Outcome = Result<Void, APIError>

    private enum Resumption {
        /// You run this batch; you are its first item.
        case run([Waiter])
        case finished(Outcome)
    }

    private struct Waiter {
        let parameters: CreateProductParameters
        let continuation: CheckedContinuation<Resumption, Never>
    }

    private let machine: Mutex<CreateBatchStateMachine<Waiter>>

    init(maximumBatchSize: Int, maximumConcurrentBatches: Int) {
        self.machine = Mutex(CreateBatchStateMachine(maximumBatchSize: maximumBatchSize, maximumConcurrentBatches: maximumConcurrentBatches))
    }

    /// Creates waiting for a running statement to finish.
    var queuedCount: Int { machine.withLock { $0.queuedCount } }

    /// Create statements running now.
    var runningBatches: Int { machine.withLock { $0.runningBatches } }

    /// Creates the product, possibly together with others. `execute` runs one batch and returns
    /// one outcome per item, in order; it is called only if this request becomes a batch's runner.
    func create(
        _ parameters: CreateProductParameters,
        execute: @escaping @Sendable (_ items: [CreateProductParameters]) async -> [Outcome]
    ) async -> Outcome {
        if machine.withLock({ $0.startIfSlotFree() }) {
            // Fast path, no suspension: a free slot means an empty queue.
            let outcome = await execute([parameters]).first ?? .failure(.internalError(underlying: UnexpectedRowCount(count: 0)))
            handOffSlot()
            return outcome
        }
        let resumption = await withCheckedContinuation { (continuation: CheckedContinuation<Resumption, Never>) in
            let waiter = Waiter(parameters: parameters, continuation: continuation)
            switch machine.withLock({ $0.submit(waiter) }) {
            case .runAlone: continuation.resume(returning: .run([waiter]))
            case .wait: break
            }
        }
        switch resumption {
        case .finished(let outcome):
            return outcome
        case .run(let batch):
            let items = batch.map(\.parameters)
            // The other requests' outcomes hang on this statement: run it where this request's
            // cancellation (its client went away) cannot cut it short and leave them unsure.
            var outcomes = items.count > 1 ? await Task { await execute(items) }.value : await execute(items)
            if outcomes.count != batch.count {
                // A broken executor must not leave requests waiting forever.
                outcomes = Array(repeating: .failure(.internalError(underlying: UnexpectedRowCount(count: Int64(outcomes.count)))), count: batch.count)
            }
            // Hand the slot on first, so the next batch starts before we deliver outcomes.
            handOffSlot()
            for index in batch.indices.dropFirst() {
                batch[index].continuation.resume(returning: .finished(outcomes[index]))
            }
            return outcomes[0]
        }
    }

    /// A statement finished: its slot goes to the next batch, if anything is queued.
    private func handOffSlot() {
        if case .runBatch(let next) = machine.withLock({ $0.batchFinished() }), let runner = next.first {
            runner.continuation.resume(returning: .run(next))
        }
    }
}
