import DequeModule

/// Senders waiting for room in the pending queue, oldest first. A sender registers under the
/// lock, then parks its continuation in a second step; a grant or a cancellation can land in
/// between, so each waiter's progress is kept by id. Pure: `Waiter` is a continuation in
/// production and a plain value in tests.
struct ProducerSlotQueue<Waiter> {
    typealias WaiterID = UInt64

    fileprivate enum Progress {
        case registered
        case parked(Waiter)
        /// Granted before it parked: it resumes as soon as it parks, holding a slot.
        case granted
        /// Cancelled before it parked: it resumes with a cancellation as soon as it parks.
        case cancelled
    }

    enum ParkResult {
        case parked
        /// Resume at once: `true` holding a slot, `false` cancelled.
        case resumeNow(granted: Bool)
    }

    /// Ids still waiting for a slot, oldest first.
    private var order: Deque<WaiterID> = []
    private var progress: [WaiterID: Progress] = [:]
    private var nextID: WaiterID = 0

    /// Senders still waiting for a slot.
    var count: Int { order.count }

    mutating func register() -> WaiterID {
        let id = nextID
        nextID &+= 1
        order.append(id)
        progress[id] = .registered
        return id
    }

    mutating func park(_ id: WaiterID, _ waiter: Waiter) -> ParkResult {
        switch progress[id] {
        case .registered?:
            progress[id] = .parked(waiter)
            return .parked
        case .granted?:
            progress[id] = nil
            return .resumeNow(granted: true)
        case .cancelled?, .parked?, nil:
            progress[id] = nil
            return .resumeNow(granted: false)
        }
    }

    /// Hands `count` slots to the oldest waiters; returns the parked ones to resume.
    mutating func grant(_ count: Int) -> [Waiter] {
        var resume: [Waiter] = []
        for _ in 0..<min(max(0, count), order.count) {
            let id = order.removeFirst()
            switch progress[id] {
            case .parked(let waiter)?:
                progress[id] = nil
                resume.append(waiter)
            case .registered?:
                progress[id] = .granted
            case .granted?, .cancelled?, nil:
                break
            }
        }
        return resume
    }

    /// The waiter's task was cancelled. Returns its continuation when it was parked (resume it
    /// with a cancellation). A waiter that already holds a slot is not cancelled: it sends.
    mutating func cancel(_ id: WaiterID) -> Waiter? {
        guard let index = order.firstIndex(of: id) else { return nil }
        order.remove(at: index)
        switch progress[id] {
        case .parked(let waiter)?:
            progress[id] = nil
            return waiter
        case .registered?:
            progress[id] = .cancelled
            return nil
        case .granted?, .cancelled?, nil:
            return nil
        }
    }
}

extension ProducerSlotQueue: Sendable where Waiter: Sendable {}
extension ProducerSlotQueue.Progress: Sendable where Waiter: Sendable {}
