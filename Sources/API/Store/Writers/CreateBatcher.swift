import Synchronization

/// Batches product creates that run on the pool (when the API has no writers, as with TLS) with
/// ``CreateBatchStateMachine``. The request whose create starts a statement runs it and hands
/// every other request in the batch its own outcome, so batching needs no background task: a
/// queued request simply waits for a runner, or becomes the runner of the next batch.
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

    private struct Waiter: Sendable {
        let parameters: CreateProductParameters
        let continuation: CheckedContinuation<Resumption, Never>
    }

    private let machine: Mutex<CreateBatchStateMachine<Waiter>>

    init(maximumBatchSize: Int, maximumConcurrentBatches: Int) {
        self.machine = Mutex(CreateBatchStateMachine(maximumBatchSize: maximumBatchSize, maximumConcurrentStatements: maximumConcurrentBatches))
    }

    /// Creates waiting for a running statement to finish.
    var queuedCount: Int { machine.withLock { $0.queuedCount } }

    /// Create statements running now.
    var runningBatches: Int { machine.withLock { $0.runningStatements } }

    /// Creates the product, possibly together with others. `execute` runs one batch and returns
    /// one outcome per item, in order; it is called only if this request becomes a batch's runner.
    func create(
        _ parameters: CreateProductParameters,
        execute: @escaping @Sendable (_ items: [CreateProductParameters]) async -> [Outcome]
    ) async -> Outcome {
        let resumption = await withCheckedContinuation { (continuation: CheckedContinuation<Resumption, Never>) in
            let waiter = Waiter(parameters: parameters, continuation: continuation)
            start(machine.withLock { $0.submit(waiter, alone: false) })
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
            // Start the next batch first, so it runs before we deliver outcomes.
            start(machine.withLock { $0.statementFinished() })
            for index in batch.indices.dropFirst() {
                batch[index].continuation.resume(returning: .finished(outcomes[index]))
            }
            return outcomes[0]
        }
    }

    /// Hands a batch that may start now to its first request, which runs it.
    private func start(_ action: CreateBatchStateMachine<Waiter>.Action) {
        guard case .send(let entries) = action, let runner = entries.first else { return }
        runner.item.continuation.resume(returning: .run(entries.map(\.item)))
    }
}
