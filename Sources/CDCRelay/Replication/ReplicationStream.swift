import NIOCore

/// The server's replication messages, in order. Bounded: when the consumer falls behind by
/// `bufferCapacity` messages the session thread stops reading the socket (TCP backpressure
/// reaches the walsender) until the consumer has taken half of them.
///
/// Single consumer. Ends with `nil` after `ReplicationSession.close()`, or throws a
/// `ReplicationError` when the server or the connection ends the stream.
public struct ReplicationStream: AsyncSequence, Sendable {
    public typealias Element = ReplicationMessage

    typealias Producer = NIOThrowingAsyncSequenceProducer<
        ReplicationMessage,
        any Error,
        NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark,
        ReplicationStreamDelegate
    >

    let base: Producer

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: Producer.AsyncIterator

        public mutating func next() async throws -> ReplicationMessage? {
            try await base.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator())
    }
}

/// Tells the session thread when the consumer wants more, or is gone.
struct ReplicationStreamDelegate: NIOAsyncSequenceProducerDelegate {
    let mailbox: SessionMailbox

    func produceMore() {
        mailbox.consumerWantsMore()
    }

    func didTerminate() {
        mailbox.consumerTerminated()
    }
}
