import DequeModule

/// Decides when product creates run and which ones share a statement ("natural batching").
///
/// Up to `maximumConcurrentBatches` statements run at once. While that many are running, new
/// creates queue up; when a statement finishes, everything queued (up to `maximumBatchSize`)
/// becomes the next batch at once. So an idle API runs each create alone with no added wait,
/// and a busy one writes many products per round trip and per commit instead of queueing them
/// one by one behind the pool. Pure: the caller runs the statements and resumes the waiters.
struct CreateBatchStateMachine<Waiter> {
    enum SubmitAction {
        /// Run the submitted create now, alone.
        case runAlone
        /// Queued: the waiter is resumed later, either as a batch's runner or with its outcome.
        case wait
    }

    enum FinishAction {
        /// Nothing queued: one fewer statement running.
        case idle
        /// Run these next, in the slot that just finished.
        case runBatch([Waiter])
    }

    let maximumBatchSize: Int
    let maximumConcurrentBatches: Int
    private(set) var runningBatches = 0
    private var queue = Deque<Waiter>()

    init(maximumBatchSize: Int, maximumConcurrentBatches: Int) {
        precondition(maximumBatchSize >= 1 && maximumConcurrentBatches >= 1)
        self.maximumBatchSize = maximumBatchSize
        self.maximumConcurrentBatches = maximumConcurrentBatches
    }

    var queuedCount: Int { queue.count }

    /// Takes a free slot if there is one (nothing queues then, so no waiter is needed).
    mutating func startIfSlotFree() -> Bool {
        guard runningBatches < maximumConcurrentBatches, queue.isEmpty else { return false }
        runningBatches += 1
        return true
    }

    mutating func submit(_ waiter: Waiter) -> SubmitAction {
        if runningBatches < maximumConcurrentBatches {
            runningBatches += 1
            return .runAlone
        }
        queue.append(waiter)
        return .wait
    }

    /// A statement finished (successfully or not); its slot goes to the queue, if any.
    mutating func batchFinished() -> FinishAction {
        precondition(runningBatches > 0, "batchFinished without a running batch")
        guard !queue.isEmpty else {
            runningBatches -= 1
            return .idle
        }
        let count = min(queue.count, maximumBatchSize)
        var batch: [Waiter] = []
        batch.reserveCapacity(count)
        for _ in 0..<count { batch.append(queue.removeFirst()) }
        return .runBatch(batch)
    }
}
