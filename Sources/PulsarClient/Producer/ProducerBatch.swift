/// The open batch of a batching producer: which messages ride together and when it closes.
/// Pure; the producer's state machine owns it and turns a closed batch into one SEND entry.
struct ProducerBatch<Completion> {
    struct Item {
        var sequenceID: UInt64
        var message: PulsarOutgoingMessage
        var completion: Completion
    }

    /// What the owner must arrange after a message joined an empty batch.
    enum CloseTimer: Equatable {
        /// Call `timerFired(generation:)` after this delay.
        case after(Duration, generation: UInt64)
        /// Call `timerFired(generation:)` on the next event-loop turn (`maxDelay` zero).
        case nextTick(generation: UInt64)
    }

    let limits: BatchingOptions
    private(set) var items: [Item] = []
    private(set) var bytes = 0
    /// Bumped on every close, so a timer armed for an earlier batch closes nothing.
    private(set) var generation: UInt64 = 0

    init(limits: BatchingOptions) {
        self.limits = limits
    }

    var isEmpty: Bool { items.isEmpty }

    /// Adds a message. `closed` holds the batches this closed, oldest first: the open one when
    /// the message would overflow its bytes (a big message never drags small ones past the
    /// broker's size limit), and the new one when the message filled it.
    mutating func add(_ item: Item) -> (closed: [[Item]], timer: CloseTimer?) {
        var closed: [[Item]] = []
        let size = item.message.payload.readableBytes
        if !items.isEmpty, bytes + size > limits.maxBytes, let previous = close() {
            closed.append(previous)
        }
        items.append(item)
        bytes += size
        if items.count >= limits.maxMessages || bytes >= limits.maxBytes, let full = close() {
            closed.append(full)
            return (closed, nil)
        }
        guard items.count == 1 else { return (closed, nil) }
        // Zero delay: whatever is added until the next loop turn rides along, and a lone
        // message leaves without waiting.
        let timer: CloseTimer = limits.maxDelay == .zero
            ? .nextTick(generation: generation) : .after(limits.maxDelay, generation: generation)
        return (closed, timer)
    }

    /// Closes the open batch (nil when empty).
    mutating func close() -> [Item]? {
        guard !items.isEmpty else { return nil }
        defer {
            items = []
            bytes = 0
            generation &+= 1
        }
        return items
    }

    /// The delay of the batch armed at `generation` ran out: close it if it is still open.
    mutating func timerFired(generation fired: UInt64) -> [Item]? {
        guard fired == generation else { return nil }
        return close()
    }
}

extension ProducerBatch: Sendable where Completion: Sendable {}
extension ProducerBatch.Item: Sendable where Completion: Sendable {}
