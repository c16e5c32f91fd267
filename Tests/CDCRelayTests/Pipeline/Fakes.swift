import Synchronization

@testable import CDCRelay

/// A replication stream fed by the test. Reading stops (backpressure) when the test stops feeding.
final class FakeReplicationSource: ReplicationSource {
    struct Inputs: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<ReplicationInput, any Error>.Iterator
        mutating func next() async throws -> ReplicationInput? {
            try await base.next()
        }
    }

    private let stream: AsyncThrowingStream<ReplicationInput, any Error>
    let feed: AsyncThrowingStream<ReplicationInput, any Error>.Continuation
    private let state = Mutex<(statuses: [StandbyPositions], closed: Bool, consumed: Int)>(([], false, 0))
    let consumedCounter = Atomic<Int>(0)

    init() {
        (stream, feed) = AsyncThrowingStream.makeStream(of: ReplicationInput.self)
    }

    func makeInputs() -> Inputs { Inputs(base: stream.makeAsyncIterator()) }

    func sendStatus(_ positions: StandbyPositions, replyRequested: Bool) async throws {
        state.withLock { $0.statuses.append(positions) }
    }

    func close() async {
        state.withLock { $0.closed = true }
        feed.finish()
    }

    var statuses: [StandbyPositions] { state.withLock { $0.statuses } }
    var isClosed: Bool { state.withLock { $0.closed } }
}

/// A publisher whose acks the test releases (or that acks at once).
final class FakePublisher: EventPublisher {
    struct Sent: Sendable {
        var message: OutboxMessage
        var completion: @Sendable (Result<Void, any Error>) -> Void
    }

    private let state = Mutex<(sent: [Sent], pendingIndex: Int, closed: Bool)>(([], 0, false))
    let autoAck: Bool
    let skipUpTo: Int64

    init(autoAck: Bool = false, skipUpTo: Int64 = -1) {
        self.autoAck = autoAck
        self.skipUpTo = skipUpTo
    }

    func publish(_ message: OutboxMessage, completion: @escaping @Sendable (Result<Void, any Error>) -> Void) async throws -> PublishDisposition {
        if message.sequenceID <= skipUpTo { return .skippedDuplicate }
        state.withLock { $0.sent.append(Sent(message: message, completion: completion)) }
        if autoAck { completion(.success(())) }
        return .sent
    }

    func flush() async throws {}

    func close() async {
        state.withLock { $0.closed = true }
    }

    var sent: [OutboxMessage] { state.withLock { $0.sent.map(\.message) } }
    var isClosed: Bool { state.withLock { $0.closed } }

    /// Completes the oldest not-yet-completed sends.
    func complete(_ count: Int, with result: Result<Void, any Error> = .success(())) {
        let completions = state.withLock { state -> [Sent] in
            let end = min(state.pendingIndex + count, state.sent.count)
            defer { state.pendingIndex = end }
            return Array(state.sent[state.pendingIndex..<end])
        }
        for sent in completions { sent.completion(result) }
    }
}

struct FakePublisherFactory: EventPublisherFactory {
    let make: @Sendable () -> FakePublisher
    func makePublisher() async throws -> any EventPublisher { make() }
}

/// Hands out prepared sources, one per connect, after failing the first connects with
/// `connectFailures`; errors are classified by `classifier`.
final class FakeConnector: ReplicationConnector {
    private let state: Mutex<(sources: [FakeReplicationSource], failures: [any Error], connects: Int)>
    let confirmedLSN: UInt64
    private let classifier: @Sendable (any Error) -> FailureClass

    init(
        sources: [FakeReplicationSource], confirmedLSN: UInt64 = 0, connectFailures: [any Error] = [],
        classifier: @escaping @Sendable (any Error) -> FailureClass = { FailureClassifier.classify($0) }
    ) {
        state = Mutex((sources, connectFailures, 0))
        self.confirmedLSN = confirmedLSN
        self.classifier = classifier
    }

    struct NoMoreSources: Error {}

    func connect() async throws -> ReplicationStart<FakeReplicationSource> {
        let next = state.withLock { state -> Result<FakeReplicationSource, any Error> in
            state.connects += 1
            if !state.failures.isEmpty { return .failure(state.failures.removeFirst()) }
            return state.sources.isEmpty ? .failure(NoMoreSources()) : .success(state.sources.removeFirst())
        }
        return ReplicationStart(source: try next.get(), confirmedLSN: confirmedLSN)
    }

    func classify(_ error: any Error) -> FailureClass { classifier(error) }

    var connects: Int { state.withLock { $0.connects } }
}
