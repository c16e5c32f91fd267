import Foundation
import PulsarClient
import Synchronization

/// Reads a topic from the start in the background and counts events by event id (duplicates
/// apart), so a test can wait on what arrived while it keeps producing.
final class OutboxEventCollector: Sendable {
    struct Counts {
        var byEventID: [String: Int] = [:]
        var aggregateIDs: Set<String> = []
        var maxEventID: Int64 = 0
        var undecodable = 0
        var duplicates: Int { byEventID.values.reduce(0) { $0 + max(0, $1 - 1) } }
    }

    private final class Box: Sendable {
        let counts = Mutex(Counts())
    }

    private let box = Box()
    private let task: Task<Void, any Error>

    init(consumer: PulsarConsumer) {
        let box = box
        task = Task {
            while !Task.isCancelled {
                guard let message = try await consumer.receive() else { return }
                box.counts.withLock { counts in
                    guard let text = message.properties["event_id"], let id = Int64(text) else {
                        counts.undecodable += 1
                        return
                    }
                    counts.byEventID[text, default: 0] += 1
                    if let key = message.properties["aggregate_id"] ?? message.key { counts.aggregateIDs.insert(key) }
                    counts.maxEventID = max(counts.maxEventID, id)
                }
                try await consumer.acknowledge(message)
            }
        }
    }

    var snapshot: Counts { box.counts.withLock { $0 } }

    /// Polls until `done` holds for what arrived, or the timeout passes; returns the counts.
    func wait(timeout: Duration, until done: (Counts) -> Bool) async -> Counts {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let now = snapshot
            if done(now) { return now }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return snapshot
    }

    func stop() { task.cancel() }
}
