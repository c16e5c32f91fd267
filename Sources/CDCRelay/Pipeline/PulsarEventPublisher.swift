import Logging
import NIOCore
import PulsarClient
import Synchronization

/// Publishes through our Pulsar client: one producer per topic, created on first use with the
/// slot's stable producer name, so broker-side dedup recognises a restarted relay.
///
/// A producer's `lastSequenceID` (from PRODUCER_SUCCESS) marks what the broker already persisted
/// from this producer name: events at or below it are reported as `.skippedDuplicate`.
public final class PulsarEventPublisher: EventPublisher {
    private let client: PulsarClient
    private let options: ProducerOptions
    private let closeTimeout: Duration
    private let producers = Mutex<[String: Task<PulsarProducer, any Error>]>([:])

    /// Events queued while the client is busy share one SEND (the broker stores and acks it as
    /// one entry); a lone event leaves at once. Capped well below the in-flight window so that
    /// several batches stay pipelined.
    public static func defaultBatching(maxPendingMessages: Int) -> BatchingOptions {
        BatchingOptions(maxMessages: max(1, min(500, maxPendingMessages / 4)), maxBytes: 128 * 1024, maxDelay: .zero)
    }

    /// `sendTimeout` `.zero` (the relay's choice): while the broker is away, messages stay pending
    /// and are resent on reconnect, so an outage is backpressure rather than a failed session.
    /// `closeTimeout` bounds how long `close()` waits for pending messages.
    public init(
        client: PulsarClient, producerName: String, maxPendingMessages: Int,
        sendTimeout: Duration = .zero, closeTimeout: Duration = .seconds(1)
    ) {
        self.client = client
        // Chunking: an event larger than the broker's maximum message size goes as a chunked
        // message (never batched), which the official clients and ours reassemble.
        self.options = ProducerOptions(
            name: producerName, sendTimeout: sendTimeout, maxPendingMessages: maxPendingMessages,
            batching: Self.defaultBatching(maxPendingMessages: maxPendingMessages), chunking: true)
        self.closeTimeout = closeTimeout
    }

    private func producer(for topic: String) async throws -> PulsarProducer {
        let task = producers.withLock { producers in
            if let existing = producers[topic] { return existing }
            let client = self.client
            let options = self.options
            let task = Task { try await client.createProducer(topic: topic, options: options) }
            producers[topic] = task
            return task
        }
        do {
            return try await task.value
        } catch {
            // A failed creation is retried by the next session, not cached.
            producers.withLock { producers in
                if producers[topic] == task { producers[topic] = nil }
            }
            throw error
        }
    }

    public func publish(
        _ message: OutboxMessage,
        completion: @escaping @Sendable (Result<Void, any Error>) -> Void
    ) async throws -> PublishDisposition {
        let producer = try await producer(for: message.topic)
        if message.sequenceID <= producer.lastSequenceID {
            return .skippedDuplicate
        }
        let outgoing = PulsarOutgoingMessage(
            payload: ByteBuffer(bytes: message.payload),
            key: message.key,
            properties: message.properties,
            eventTime: message.eventTime,
            sequenceID: message.sequenceID
        )
        try await producer.sendAsync(outgoing) { result in
            completion(result.map { _ in () }.mapError { $0 as any Error })
        }
        return .sent
    }

    public func flush() async throws {
        for producer in try await openProducers() { try await producer.flush() }
    }

    public func close() async {
        // Pending messages that miss the bound fail; the next session replays them from the slot.
        for producer in (try? await openProducers()) ?? [] { try? await producer.close(drainTimeout: closeTimeout) }
    }

    private func openProducers() async throws -> [PulsarProducer] {
        let tasks = producers.withLock { Array($0.values) }
        var result: [PulsarProducer] = []
        for task in tasks {
            if let producer = try? await task.value { result.append(producer) }
        }
        return result
    }
}

/// One publisher per relay session on a shared client.
public struct PulsarEventPublisherFactory: EventPublisherFactory {
    public let client: PulsarClient
    public let producerName: String
    public let maxPendingMessages: Int
    public let sendTimeout: Duration
    public let closeTimeout: Duration

    public init(
        client: PulsarClient, producerName: String, maxPendingMessages: Int,
        sendTimeout: Duration = .zero, closeTimeout: Duration = .seconds(1)
    ) {
        self.client = client
        self.producerName = producerName
        self.maxPendingMessages = maxPendingMessages
        self.sendTimeout = sendTimeout
        self.closeTimeout = closeTimeout
    }

    public func makePublisher() async throws -> any EventPublisher {
        PulsarEventPublisher(
            client: client, producerName: producerName, maxPendingMessages: maxPendingMessages,
            sendTimeout: sendTimeout, closeTimeout: closeTimeout)
    }
}
