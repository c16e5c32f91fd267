import NIOCore
import Testing
@testable import PulsarClient

/// Chunked messages through the consumer's state machine: reassembly, permits, acknowledgement.
@Suite struct ConsumerChunkTests {
    typealias Machine = ConsumerStateMachine
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func active(queueSize: Int = 10, options: (inout ConsumerOptions) -> Void = { _ in }) -> Machine {
        var consumerOptions = ConsumerOptions(subscriptionType: .exclusive, receiverQueueSize: queueSize)
        options(&consumerOptions)
        var machine = Machine(topic: "t", options: consumerOptions)
        _ = machine.subscribeRequested(requestID: 1)
        _ = machine.subscribeSucceeded(requestID: 1)
        return machine
    }

    static func chunkMetadata(uuid: String, chunk: Int32, of count: Int32, total: Int32) -> Pulsar_Proto_MessageMetadata {
        var metadata = ConsumerFixtures.metadata(producer: "chunker", sequenceID: 4)
        metadata.uuid = uuid
        metadata.chunkID = chunk
        metadata.numChunksFromMsg = count
        metadata.totalChunkMsgSize = total
        metadata.properties = [ConsumerFixtures.keyValue("seed", "1")]
        return metadata
    }

    /// Feeds the chunks `indexes` of "uuid"'s message `text` (cut in `count` slices) at entries base+index.
    static func feed(_ machine: inout Machine, uuid: String = "u", text: String, count: Int, indexes: [Int], base: UInt64, now: NIODeadline) -> [Machine.Action] {
        let bytes = Array(text.utf8)
        let size = (bytes.count + count - 1) / count
        var actions: [Machine.Action] = []
        for index in indexes {
            let slice = Array(bytes[min(bytes.count, index * size)..<min(bytes.count, (index + 1) * size)])
            actions += machine.messageReceived(
                command: ConsumerFixtures.command(entry: base + UInt64(index)),
                metadata: chunkMetadata(uuid: uuid, chunk: Int32(index), of: Int32(count), total: Int32(bytes.count)),
                body: ByteBuffer(bytes: slice),
                now: now)
        }
        return actions
    }

    static func position(_ entry: UInt64) -> EntryPosition { EntryPosition(ledgerID: 7, entryID: entry) }

    @Test func chunksBecomeOneMessageAckedAsAWhole() throws {
        var machine = Self.active()
        let text = "the quick brown fox jumps over the lazy dog"
        let actions = Self.feed(&machine, text: text, count: 3, indexes: [0, 1, 2], base: 20, now: t0)
        #expect(machine.queue.count == 1)
        guard case .deliver(.success(let message), _) = machine.next() else {
            Issue.record("expected the reassembled message")
            return
        }
        #expect(String(buffer: message.payload) == text)
        #expect(message.id == PulsarMessageID(ledgerID: 7, entryID: 22))
        #expect(message.chunkIDs.map(\.entryID) == [20, 21, 22])
        #expect(message.properties == ["seed": "1"])
        #expect(message.producerName == "chunker")
        // The two chunks that did not complete the message gave their permits back at once
        // (queue 10: refill at 5, so no FLOW yet).
        #expect(!actions.contains { if case .sendFlow = $0 { true } else { false } })
        #expect(machine.permitsToReturn == 3)
        let acks = try machine.acknowledge(message.id)
        #expect(acks == [.sendAck(.init(kind: .individual, positions: [Self.position(20), Self.position(21), Self.position(22)]))])
        #expect(machine.chunkedMessages.isEmpty)
    }

    @Test func anIncompleteSequenceIsNeverDeliveredButOthersAre() {
        var machine = Self.active()
        _ = Self.feed(&machine, uuid: "x", text: "incomplete-message", count: 3, indexes: [0, 1], base: 1, now: t0)
        _ = machine.messageReceived(command: ConsumerFixtures.command(entry: 4), metadata: ConsumerFixtures.metadata(sequenceID: 5),
                                    body: ByteBuffer(string: "plain"), now: t0)
        _ = Self.feed(&machine, uuid: "y", text: "complete", count: 2, indexes: [0, 1], base: 5, now: t0)
        var payloads: [String] = []
        while case .deliver(.success(let message), _) = machine.next() { payloads.append(String(buffer: message.payload)) }
        #expect(payloads == ["plain", "complete"])
        #expect(machine.chunks.pendingMessages == 1)
    }

    @Test func aDisconnectForgetsIncompleteMessages() {
        var machine = Self.active()
        _ = Self.feed(&machine, text: "abcdef", count: 2, indexes: [0], base: 1, now: t0)
        _ = machine.disconnected(error: PulsarClientErrorBox(PulsarClientError(code: .connectionClosed, message: "gone")))
        #expect(machine.chunks.pendingMessages == 0)
    }

    @Test func expiredChunksAreAcknowledgedAndLogged() {
        var machine = Self.active { $0.chunkExpiry = .seconds(5) }
        _ = Self.feed(&machine, uuid: "stale", text: "abcdef", count: 2, indexes: [0], base: 1, now: t0)
        let actions = machine.messageReceived(command: ConsumerFixtures.command(entry: 9), metadata: ConsumerFixtures.metadata(sequenceID: 9),
                                              body: ByteBuffer(string: "later"), now: t0 + .seconds(6))
        #expect(actions.contains(.sendAck(.init(kind: .individual, positions: [Self.position(1)]))))
        #expect(actions.contains { if case .chunksDiscarded(let discard) = $0 { discard.reason == .expired } else { false } })
        #expect(machine.chunks.pendingMessages == 0)
    }

    @Test func droppedForRoomIsRedelivered() {
        var machine = Self.active { $0.maxPendingChunkedMessages = 1 }
        _ = Self.feed(&machine, uuid: "a", text: "aaaa", count: 2, indexes: [0], base: 1, now: t0)
        let actions = Self.feed(&machine, uuid: "b", text: "bbbb", count: 2, indexes: [0], base: 3, now: t0)
        #expect(actions.contains(.sendRedeliver([Self.position(1)])))
    }

    @Test func cumulativeAckOfAChunkedMessageForgetsItsChunks() throws {
        var machine = Self.active()
        _ = Self.feed(&machine, text: "abcdef", count: 2, indexes: [0, 1], base: 1, now: t0)
        guard case .deliver(.success(let message), _) = machine.next() else {
            Issue.record("expected a message")
            return
        }
        let acks = try machine.acknowledgeCumulative(message.id)
        #expect(acks == [.sendAck(.init(kind: .cumulative, positions: [Self.position(2)]))])
        #expect(machine.chunkedMessages.isEmpty)
    }

    @Test func optionsAreValidated() {
        #expect(throws: PulsarConsumerError.self) { try ConsumerOptions(maxPendingChunkedMessages: 0).validate() }
        #expect(throws: PulsarConsumerError.self) { try ConsumerOptions(maxPendingChunkBytes: 0).validate() }
        #expect(throws: Never.self) { try ConsumerOptions().validate() }
    }
}
