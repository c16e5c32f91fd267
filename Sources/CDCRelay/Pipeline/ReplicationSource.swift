/// One open replication stream, as the relay session sees it. The real implementation adapts the
/// libpq `ReplicationSession`; tests use a scripted fake.
public protocol ReplicationSource: Sendable {
    associatedtype Inputs: AsyncIteratorProtocol where Inputs.Element == ReplicationInput

    /// The decoded stream; called once, iterated by a single task. Bounded: not calling `next()`
    /// stops reading from the socket (backpressure up to the walsender).
    func makeInputs() -> Inputs
    /// Queue a standby status update (must not wait for stream input).
    func sendStatus(_ positions: StandbyPositions, replyRequested: Bool) async throws
    /// End the stream; a pending `next()` finishes (nil or an error).
    func close() async
}

/// Opens replication streams from the slot, one per session attempt.
public protocol ReplicationConnector: Sendable {
    associatedtype Source: ReplicationSource
    /// Bootstraps (publication, slot) and starts streaming from the slot's confirmed position.
    func connect() async throws -> ReplicationStart<Source>
    /// How to react to a failure of `connect()` or of the stream. A requirement (not only an
    /// extension method) so the service's generic code calls the connector's own version.
    func classify(_ error: any Error) -> FailureClass
}

public struct ReplicationStart<Source: ReplicationSource>: Sendable {
    public var source: Source
    /// The slot's `confirmed_flush_lsn` when streaming started (0 if unknown).
    public var confirmedLSN: UInt64

    public init(source: Source, confirmedLSN: UInt64) {
        self.source = source
        self.confirmedLSN = confirmedLSN
    }
}

extension ReplicationConnector {
    public func classify(_ error: any Error) -> FailureClass { FailureClassifier.classify(error) }
}
