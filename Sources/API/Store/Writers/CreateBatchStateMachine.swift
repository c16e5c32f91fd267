import DequeModule

/// Decides which product creates share a statement, and when it starts ("natural batching"),
/// for a ``CreateWriter`` and for the pool's ``CreateBatcher``.
///
/// Creates queue while statements run; when one finishes, everything queued (up to
/// `maximumBatchSize`) goes out at once as the next statement, so an idle API sends each create
/// alone with no added wait and a busy one writes many products per round trip and per commit.
/// A create retried *alone* (after the batch it was in failed) always gets a statement of its
/// own, so one bad row cannot fail the others twice. Pure: the caller runs the statements and
/// resumes the requests.
struct CreateBatchStateMachine<Item> {
    struct Entry {
        var item: Item
        var alone: Bool
    }

    enum Action {
        case none
        /// Send these creates as one statement now.
        case send([Entry])
    }

    let maximumBatchSize: Int
    let maximumConcurrentStatements: Int
    private(set) var runningStatements = 0
    private var queue = Deque<Entry>()

    init(maximumBatchSize: Int, maximumConcurrentStatements: Int) {
        precondition(maximumBatchSize >= 1 && maximumConcurrentStatements >= 1)
        self.maximumBatchSize = maximumBatchSize
        self.maximumConcurrentStatements = maximumConcurrentStatements
    }

    var queuedCount: Int { queue.count }

    mutating func submit(_ item: Item, alone: Bool) -> Action {
        queue.append(Entry(item: item, alone: alone))
        return sendIfPossible()
    }

    /// A statement finished (successfully or not); the queue may go out now.
    mutating func statementFinished() -> Action {
        precondition(runningStatements > 0, "statementFinished without a running statement")
        runningStatements -= 1
        return sendIfPossible()
    }

    /// Empties the queue (at shutdown); the caller fails what it returns.
    mutating func drain() -> [Entry] {
        defer { queue.removeAll() }
        return Array(queue)
    }

    private mutating func sendIfPossible() -> Action {
        guard runningStatements < maximumConcurrentStatements, let first = queue.first else { return .none }
        runningStatements += 1
        if first.alone { return .send([queue.removeFirst()]) }
        var batch: [Entry] = []
        batch.reserveCapacity(min(queue.count, maximumBatchSize))
        while batch.count < maximumBatchSize, let next = queue.first, !next.alone { batch.append(queue.removeFirst()) }
        return .send(batch)
    }
}

extension CreateBatchStateMachine.Entry: Sendable where Item: Sendable {}
