import Foundation
import PulsarClient
import Synchronization

/// Reads a topic from the start in the background and counts events by event id (duplicates
/// apart), so a test can wait on what arrived while it keeps producing.
final class OutboxEventCollector: Sendable {
    struct Event: Decodable {
        let event_id: String
        let aggregate_id: String
    }

    struct Counts {
        var byEventID: [String: Int] = [:]
        var aggregateIDs: Set<String> = []
        var maxEventID: Int64 = 0
        var undecodable = 0
        var duplicates: Int { byEventID.values.reduce(0) { $0 + max(0, $1 - 1) } }
    }

    private let counts = Mutex(Counts())
    private let task: Task<Void, any Error>

    init(consumer: PulsarConsumer) {
        let counts = counts
        task = Task {
            while !Task.isCancelled {
                let message = try await consumer.receive()
                let event = try? JSONDecoder().decode(Event.self, from: Data(message.payloadBytes))
                counts.withLock { counts in
                    guard let event, let id = Int64(event.event_id) else {
                        counts.undecodable += 1
                        return
                    }
                    counts.byEventID[event.event_id, default: 0] += 1
                    counts.aggregateIDs.insert(event.aggregate_id)
                    counts.maxEventID = max(counts.maxEventID, id)
                }
                try await consumer.acknowledge(message.id)
            }
        }
    }

    var snapshot: Counts { counts.withLock { $0 } }

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
