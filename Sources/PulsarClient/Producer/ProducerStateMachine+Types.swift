import NIOCore

extension ProducerStateMachine {
    /// One SEND: a single message or a whole batch, kept serialized for resending unchanged. A
    /// chunked message is one entry with a frame per chunk and a receipt expected for each.
    struct Entry {
        /// The machine's own id (sequence ids may repeat when they are explicit).
        var id: UInt64
        var sequenceID: UInt64
        var highestSequenceID: UInt64
        /// Empty until the owner hands the built frames back (`framesBuilt`).
        var frames: [ByteBuffer] = []
        var isBuilt = false
        /// Receipts still expected: the chunks from `frames.count - receiptsLeft` on are unacknowledged.
        var receiptsLeft = 0
        var completions: Completions
        var enqueuedAt: NIODeadline

        var messageCount: Int { completions.count }
    }

    /// Avoids an array allocation for the common one-message entry.
    enum Completions {
        case one(Completion)
        case many([Completion])

        var count: Int {
            switch self {
            case .one: return 1
            case .many(let list): return list.count
            }
        }

        var all: [Completion] {
            switch self {
            case .one(let completion): return [completion]
            case .many(let list): return list
            }
        }
    }

    enum State {
        /// Waiting for PRODUCER_SUCCESS (first creation or after a disconnect). Sends are queued.
        case connecting
        case ready
        /// `close()` called: no new sends, pending ones still complete.
        case closing
        case closed(PulsarClientError)
    }

    enum ReserveResult: Equatable {
        case reserved
        /// The queue is full: park a continuation with `parkSender(id, _)`; a freed slot resumes it.
        case mustWait(ProducerSlotQueue<Waiter>.WaiterID)
        case failed(PulsarClientError)
    }

    enum ParkAction {
        case parked
        /// Resume at once: `.success` holding a slot, `.failure` when cancelled meanwhile.
        case resume(Result<Void, PulsarClientError>)
    }

    /// What the owner does after a send, a flush or a batch timer, outside the lock.
    struct Plan {
        /// Build these (in any order, outside the lock) and hand each back with `framesBuilt`.
        var jobs: [FrameJob] = []
        /// A send refused because the producer is closed.
        var refused: (Completion, PulsarClientError)?
        var resolution = Resolution()
        /// Arm this for the batch the message opened.
        var timer: ProducerBatch<Completion>.CloseTimer?
    }

    /// Entries resolved by one event, and the waiters it releases.
    struct Resolution {
        var succeeded: [(Entry, Pulsar_Proto_MessageIdData)] = []
        var failed: [(Entry, PulsarClientError)] = []
        /// Suspended senders that now hold a slot.
        var resumeSenders: [Waiter] = []
        /// `flush()` callers whose messages all resolved.
        var resumeFlushers: [Waiter] = []

        var isEmpty: Bool { succeeded.isEmpty && failed.isEmpty && resumeSenders.isEmpty && resumeFlushers.isEmpty }
    }

    /// After frames were built: entries resolved by a build failure, and whether a drain
    /// (`takeOutbox` on the connection's event loop) must be scheduled.
    struct WriteAction {
        var resolution = Resolution()
        var scheduleDrain = false
    }

    enum ReceiptAction {
        case resolved(Resolution)
        /// Receipt for a sequence id already resolved (or duplicate): ignore it.
        case ignoreStale
        /// A receipt skipped the head of the queue: close the connection so everything is resent.
        case closeConnection(PulsarClientError)
    }

    enum DisconnectAction {
        case reconnect(after: TimeAmount)
        /// Closed for good; everything pending failed.
        case closed(Resolution)
        /// Nothing to do (closed already, or a reconnect is already scheduled).
        case none
    }

    enum SendErrorAction {
        case closeConnection(PulsarClientError)
        /// The topic will never accept this producer again: drop it.
        case closeProducer(Resolution)
    }

    enum CreationFailureAction {
        case retry(after: TimeAmount, failPending: Resolution)
        case closed(Resolution)
    }
}

extension ProducerStateMachine.Entry: Sendable where Completion: Sendable {}
extension ProducerStateMachine.Completions: Sendable where Completion: Sendable {}
extension ProducerStateMachine.State: Sendable {}
