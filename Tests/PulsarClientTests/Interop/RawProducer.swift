import NIOCore
@testable import PulsarClient

/// Writes hand-made SEND frames through a real connection, to put on the broker what our producer
/// never writes (an incomplete chunk sequence, an oversized frame). Use its own `PulsarClient` so
/// its producer id cannot collide with a real producer's.
final class RawProducer: Sendable {
    enum Event: Sendable, Equatable {
        case receipt(sequenceID: UInt64, entryID: UInt64)
        case sendError(sequenceID: UInt64, Pulsar_Proto_ServerError)
        case closed
    }

    private final class Handler: PulsarProducerEventHandler {
        let continuation: AsyncStream<Event>.Continuation
        init(_ continuation: AsyncStream<Event>.Continuation) { self.continuation = continuation }
        func handleSendReceipt(_ command: Pulsar_Proto_CommandSendReceipt) {
            continuation.yield(.receipt(sequenceID: command.sequenceID, entryID: command.messageID.entryID))
        }
        func handleSendError(_ command: Pulsar_Proto_CommandSendError) {
            continuation.yield(.sendError(sequenceID: command.sequenceID, command.error))
        }
        func handleCloseProducer(_ command: Pulsar_Proto_CommandCloseProducer) { continuation.yield(.closed) }
        func handleConnectionClosed(_ error: PulsarClientError) { continuation.yield(.closed) }
    }

    struct Refused: Error, CustomStringConvertible {
        var description: String
    }

    let connection: PulsarConnection
    let producerID: UInt64 = 4242
    let name: String
    let events: AsyncStream<Event>
    private let handler: Handler

    private init(connection: PulsarConnection, name: String, events: AsyncStream<Event>, handler: Handler) {
        self.connection = connection
        self.name = name
        self.events = events
        self.handler = handler
    }

    static func create(client: PulsarClient, topic: String, name: String) async throws -> RawProducer {
        let connection = try await client.connection(forTopic: topic)
        let (events, continuation) = AsyncStream<Event>.makeStream()
        let producer = RawProducer(connection: connection, name: name, events: events, handler: Handler(continuation))
        try connection.registerProducer(producer.producerID, handler: producer.handler)
        let requestID = connection.nextRequestID()
        let command = PulsarCommands.producer(
            topic: topic, producerID: producer.producerID, requestID: requestID, producerName: name, userProvidedName: true, epoch: 0)
        let response = try await connection.request(command, requestID: requestID, timeout: .seconds(15))
        guard response.type == .producerSuccess else { throw Refused(description: "\(response.type) in answer to PRODUCER") }
        return producer
    }

    var builder: SendFrameBuilder { SendFrameBuilder(producerID: producerID, producerName: name, compression: .none) }

    func write(_ frames: [ByteBuffer]) {
        connection.writeFrames(frames)
    }

    /// The next `count` events (receipts, errors, close) in arrival order.
    func nextEvents(_ count: Int) async -> [Event] {
        var result: [Event] = []
        for await event in events {
            result.append(event)
            if result.count == count || event == .closed { break }
        }
        return result
    }
}
