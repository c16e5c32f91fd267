/// Bounds the messages received and not yet acknowledged: the reader waits for room, so a slow
/// database slows the consumer down (and the broker keeps the rest) instead of filling memory.
actor InboxWindow {
    private let limit: Int
    private var used = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var opened = false

    init(limit: Int) { self.limit = limit }

    var inUse: Int { used }

    func acquire() async {
        if opened || used < limit {
            used += 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release(_ count: Int) {
        used = max(0, used - count)
        while used < limit, !waiters.isEmpty {
            used += 1
            waiters.removeFirst().resume()
        }
    }

    /// Shutdown: nobody waits any more.
    func open() {
        opened = true
        for waiter in waiters { waiter.resume() }
        waiters.removeAll()
    }
}
