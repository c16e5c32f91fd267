/// Where events go. The real implementation wraps one `PulsarProducer` per topic; tests use fakes.
public protocol EventPublisher: Sendable {
    /// Hands one message to the client. Suspends while the client's pending queue is full.
    /// `completion` runs exactly once, with success when the broker persisted the message — unless
    /// the call returns `.skippedDuplicate` (the broker already has this sequence id), in which
    /// case it is never called.
    func publish(
        _ message: OutboxMessage,
        completion: @escaping @Sendable (Result<Void, any Error>) -> Void
    ) async throws -> PublishDisposition
    /// Waits until everything handed over so far is acked or failed.
    func flush() async throws
    func close() async
}

public enum PublishDisposition: Sendable, Hashable {
    case sent
    /// `sequenceID ≤ lastSequenceID` of the (re)created producer: already persisted.
    case skippedDuplicate
}

/// One publisher per session attempt, so a failed producer never outlives its session.
public protocol EventPublisherFactory: Sendable {
    func makePublisher() async throws -> any EventPublisher
}
