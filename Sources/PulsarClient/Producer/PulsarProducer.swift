import Atomics
import NIOCore

/// Publishes messages to a topic. For a partitioned topic, keyed messages go to
/// `murmur3(key) % partitions` (the Java client's default) and unkeyed ones round-robin.
public final class PulsarProducer: Sendable {
    public let topic: String
    let partitions: [PartitionProducer]
    private let roundRobin: ManagedAtomic<Int>
    private let client: PulsarClient

    init(topic: String, partitions: [PartitionProducer], client: PulsarClient) {
        precondition(!partitions.isEmpty, "a producer has at least one partition")
        self.topic = topic
        self.partitions = partitions
        self.client = client
        self.roundRobin = ManagedAtomic(Int.random(in: 0..<partitions.count))
    }

    /// The broker-assigned or configured name.
    public var producerName: String { partitions[0].producerName }

    /// `last_sequence_id` from the first PRODUCER_SUCCESS (-1 if the broker had none). For a
    /// partitioned topic, the highest over all partitions.
    public var lastSequenceID: Int64 {
        // Read on every relay publish: no array for the common single-partition case.
        guard partitions.count > 1 else { return partitions[0].lastSequenceID }
        return partitions.reduce(Int64(-1)) { max($0, $1.lastSequenceID) }
    }

    /// Sends and waits for the broker's receipt.
    /// Runs on the caller's executor (`nonsending`): no hop to the global executor and back per message.
    nonisolated(nonsending) public func send(_ message: PulsarOutgoingMessage) async throws -> PulsarMessageID {
        let partition = route(message)
        try await partition.acquireSlot()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<PulsarMessageID, any Error>) in
            partition.enqueue(message) { result in continuation.resume(with: result.mapError { $0 as any Error }) }
        }
    }

    /// Pipelined: returns once the message is queued (suspends while the pending queue is full);
    /// `completion` runs exactly once with the receipt's id or the final error. Never drops silently.
    /// Runs on the caller's executor, so a sender on an actor pays no executor hop per message.
    nonisolated(nonsending) public func sendAsync(
        _ message: PulsarOutgoingMessage,
        completion: @escaping @Sendable (Result<PulsarMessageID, PulsarClientError>) -> Void
    ) async throws {
        let partition = route(message)
        try await partition.acquireSlot()
        partition.enqueue(message, completion: completion)
    }

    /// Waits until every message queued so far got its receipt or failed.
    public func flush() async throws {
        for partition in partitions { await partition.flush() }
    }

    /// Stops accepting messages, waits for the pending ones, and closes the producer on the broker.
    public func close() async throws {
        for partition in partitions { try await partition.close() }
        client.producerClosed(self)
    }

    /// Like `close()`, but waits at most `drainTimeout` for pending messages (per partition);
    /// those still unacknowledged then fail with `producerClosed`. For owners that must stop in
    /// bounded time even while the broker is unreachable (with no send timeout, pending messages
    /// would otherwise wait for the broker forever).
    public func close(drainTimeout: Duration) async throws {
        for partition in partitions { try await partition.close(drainTimeout: drainTimeout) }
        client.producerClosed(self)
    }

    private func route(_ message: PulsarOutgoingMessage) -> PartitionProducer {
        guard partitions.count > 1 else { return partitions[0] }
        if let key = message.key {
            return partitions[Murmur3.partition(forKey: key, partitions: partitions.count)]
        }
        let next = roundRobin.loadThenWrappingIncrement(ordering: .relaxed)
        return partitions[(next & Int.max) % partitions.count]
    }
}
