import NIOCore
import Testing
@testable import PulsarClient

@Suite("Consumer state machine")
struct ConsumerStateMachineTests {
    typealias Machine = ConsumerStateMachine
    typealias Item = ConsumerFixtures.Item

    static func active(queueSize: Int = 1000, type: SubscriptionType = .shared) -> Machine {
        var machine = Machine(topic: "t", options: ConsumerOptions(subscriptionType: type, receiverQueueSize: queueSize))
        _ = machine.subscribeRequested(requestID: 1)
        _ = machine.subscribeSucceeded(requestID: 1)
        return machine
    }

    static func plain(_ machine: inout Machine, entry: UInt64, text: String = "m") -> [Machine.Action] {
        machine.messageReceived(
            command: ConsumerFixtures.command(entry: entry),
            metadata: ConsumerFixtures.metadata(sequenceID: entry),
            body: ByteBuffer(string: text),
            now: .uptimeNanoseconds(0)
        )
    }

    static func batch(_ machine: inout Machine, entry: UInt64, size: Int, ackSet: [Int64] = []) -> [Machine.Action] {
        let payload = ConsumerFixtures.batchPayload((0..<size).map { Item(payload: [UInt8($0)]) })
        return machine.messageReceived(
            command: ConsumerFixtures.command(entry: entry, ackSet: ackSet),
            metadata: ConsumerFixtures.metadata(batchCount: Int32(size)),
            body: ByteBuffer(bytes: payload),
            now: .uptimeNanoseconds(0)
        )
    }

    static func id(entry: UInt64, batchIndex: Int32 = -1) -> PulsarMessageID {
        PulsarMessageID(ledgerID: 7, entryID: entry, partition: -1, batchIndex: batchIndex)
    }

    static func takeMessage(_ machine: inout Machine) -> (PulsarMessage?, UInt32?) {
        guard case .deliver(.success(let message), let flow) = machine.next() else { return (nil, nil) }
        return (message, flow)
    }

    @Test("subscribe sends SUBSCRIBE, then success sends FLOW with the queue size and resumes the caller")
    func subscribe() {
        var machine = Machine(topic: "t", options: ConsumerOptions(receiverQueueSize: 250))
        #expect(machine.subscribeRequested(requestID: 4) == [.sendSubscribe(requestID: 4)])
        #expect(machine.subscribeSucceeded(requestID: 3) == [], "an answer to another request is ignored")
        #expect(machine.subscribeSucceeded(requestID: 4) == [.sendFlow(permits: 250), .subscribeSucceeded])
        #expect(machine.state == .active)
    }

    @Test("a refused first subscribe fails the caller and closes the machine")
    func subscribeRefused() {
        var machine = Machine(topic: "t", options: ConsumerOptions())
        _ = machine.subscribeRequested(requestID: 1)
        let error = PulsarClientErrorBox(PulsarConsumerError(code: .subscribeFailed, detail: "ConsumerBusy"))
        #expect(machine.subscribeFailed(requestID: 1, error: error, retry: true) == [.subscribeFailed(error)])
        #expect(machine.state == .closed)
        #expect(machine.next() == .finish(error))
    }

    @Test("FLOW is refilled only when the application has taken half of the queue")
    func flowRefillAtHalf() {
        var machine = Self.active(queueSize: 10)
        for entry in 0..<10 { #expect(Self.plain(&machine, entry: UInt64(entry)) == []) }
        var flows: [UInt32?] = []
        for _ in 0..<10 { flows.append(Self.takeMessage(&machine).1) }
        #expect(flows == [nil, nil, nil, nil, 5, nil, nil, nil, nil, 5])
        #expect(machine.permitsToReturn == 0)
    }

    @Test("a queue of one refills after every message")
    func queueOfOne() {
        var machine = Self.active(queueSize: 1)
        _ = Self.plain(&machine, entry: 0)
        #expect(Self.takeMessage(&machine).1 == 1)
    }

    @Test("a waiting reader is resumed directly and that message counts as taken")
    func waitingReader() {
        var machine = Self.active(queueSize: 2)
        #expect(machine.next() == .wait)
        let actions = Self.plain(&machine, entry: 9, text: "direct")
        #expect(actions.count == 2)
        #expect(actions.first == .sendFlow(permits: 1))
        guard case .resumeReader(.success(let message)) = actions.last else {
            Issue.record("expected the reader to be resumed, got \(actions)")
            return
        }
        #expect(String(buffer: message.payload) == "direct")
        #expect(machine.queue.isEmpty)
    }

    @Test("batch items are queued separately; skipped ones give their permits back")
    func batchSplittingAndPermits() {
        var machine = Self.active(queueSize: 4)
        // Items 0 and 2 still unacknowledged on the broker (bits 0b101); 1 and 3 are skipped.
        #expect(Self.batch(&machine, entry: 1, size: 4, ackSet: [0b0101]) == [.sendFlow(permits: 2)])
        #expect(machine.queue.count == 2)
        #expect(Self.takeMessage(&machine).0?.id.batchIndex == 0)
        #expect(Self.takeMessage(&machine).0?.id.batchIndex == 2)
    }

    @Test("a batch is acknowledged to the broker only when all its items are")
    func batchIndividualAck() throws {
        var machine = Self.active()
        _ = Self.batch(&machine, entry: 3, size: 3)
        #expect(try machine.acknowledge(Self.id(entry: 3, batchIndex: 0)) == [])
        #expect(try machine.acknowledge(Self.id(entry: 3, batchIndex: 2)) == [])
        #expect(try machine.acknowledge(Self.id(entry: 3, batchIndex: 0)) == [], "a repeated ack does not count twice")
        let position = EntryPosition(ledgerID: 7, entryID: 3)
        #expect(try machine.acknowledge(Self.id(entry: 3, batchIndex: 1)) == [.sendAck(.init(kind: .individual, positions: [position]))])
        #expect(try machine.acknowledge(Self.id(entry: 3, batchIndex: 1)) == [], "the batch is gone once acknowledged")
        #expect(machine.batches.trackedCount == 0)
    }

    @Test("a plain message is acknowledged at once")
    func plainAck() throws {
        var machine = Self.active()
        _ = Self.plain(&machine, entry: 4)
        #expect(try machine.acknowledge(Self.id(entry: 4)) == [.sendAck(.init(kind: .individual, positions: [.init(ledgerID: 7, entryID: 4)]))])
    }

    @Test("cumulative ack is refused on shared and key_shared subscriptions", arguments: [SubscriptionType.shared, .keyShared])
    func cumulativeRefused(type: SubscriptionType) {
        var machine = Self.active(type: type)
        #expect(throws: PulsarConsumerError.self) { try machine.acknowledgeCumulative(Self.id(entry: 1)) }
    }

    @Test("cumulative ack: plain id as is; inside an open batch the previous entry; a completed batch itself")
    func cumulativeAck() throws {
        var machine = Self.active(type: .exclusive)
        _ = Self.plain(&machine, entry: 1)
        _ = Self.batch(&machine, entry: 2, size: 3)
        _ = Self.batch(&machine, entry: 3, size: 2)
        func cumulative(_ entry: UInt64) -> Machine.Action {
            .sendAck(.init(kind: .cumulative, positions: [.init(ledgerID: 7, entryID: entry)]))
        }
        #expect(try machine.acknowledgeCumulative(Self.id(entry: 1)) == [cumulative(1)])
        #expect(try machine.acknowledgeCumulative(Self.id(entry: 2, batchIndex: 1)) == [cumulative(1)])
        #expect(try machine.acknowledgeCumulative(Self.id(entry: 2, batchIndex: 2)) == [cumulative(2)])
        // Acking batch 3's last item cumulatively completes it and forgets every earlier batch.
        #expect(try machine.acknowledgeCumulative(Self.id(entry: 3, batchIndex: 1)) == [cumulative(3)])
        #expect(machine.batches.trackedCount == 0)
    }

    @Test("a corrupt message is never delivered: redelivery is requested and its permit returned")
    func corruptMessage() {
        var machine = Self.active(queueSize: 2)
        #expect(machine.next() == .wait)
        let actions = machine.corruptMessageReceived(command: ConsumerFixtures.command(entry: 12))
        #expect(actions == [.sendRedeliver([EntryPosition(ledgerID: 7, entryID: 12)]), .sendFlow(permits: 1)])
        #expect(machine.queue.isEmpty)
        #expect(machine.readerWaiting)
    }

    @Test("an undecodable message reaches the reader as a typed error carrying its id; iteration goes on")
    func undecodableMessage() throws {
        var machine = Self.active()
        let bad = ConsumerFixtures.metadata(compression: .zlib, uncompressedSize: 100)
        _ = machine.messageReceived(command: ConsumerFixtures.command(entry: 5), metadata: bad, body: ByteBuffer(bytes: [9, 9, 9]), now: .uptimeNanoseconds(0))
        _ = Self.plain(&machine, entry: 6, text: "after")
        guard case .deliver(.failure(let error), _) = machine.next() else {
            Issue.record("expected a failure first")
            return
        }
        #expect(error.code == .decompressionFailed)
        #expect(error.messageID?.entryID == 5)
        #expect(Self.takeMessage(&machine).0.map { String(buffer: $0.payload) } == "after")
        // The application may acknowledge the bad message to skip it for good.
        #expect(try machine.acknowledge(try #require(error.messageID)) == [.sendAck(.init(kind: .individual, positions: [.init(ledgerID: 7, entryID: 5)]))])
    }

    @Test("reconnect clears the queue, re-subscribes, resets permits and FLOWs the full queue again")
    func reconnect() throws {
        var machine = Self.active(queueSize: 10)
        for entry in 0..<6 { _ = Self.plain(&machine, entry: UInt64(entry)) }
        for _ in 0..<3 { _ = Self.takeMessage(&machine) }
        #expect(machine.permitsToReturn == 3)
        let lost = PulsarClientErrorBox(PulsarConsumerError(code: .consumerClosed, detail: "connection lost"))
        #expect(machine.disconnected(error: lost) == [.reconnect])
        #expect(machine.queue.isEmpty)
        #expect(machine.permitsToReturn == 0)
        // Messages from the old connection arriving late are ignored.
        #expect(Self.plain(&machine, entry: 99) == [])
        #expect(machine.queue.isEmpty)
        // The application acknowledges a message it already had while disconnected.
        #expect(try machine.acknowledge(Self.id(entry: 1)) == [])
        #expect(machine.subscribeRequested(requestID: 8) == [.sendSubscribe(requestID: 8)])
        #expect(machine.subscribeSucceeded(requestID: 8) == [
            .sendAck(.init(kind: .individual, positions: [.init(ledgerID: 7, entryID: 1)])),
            .sendFlow(permits: 10),
        ])
        #expect(machine.pendingAcks.isEmpty)
    }

    @Test("a redelivered half-acknowledged batch only delivers the items still open")
    func redeliveredBatchAfterReconnect() throws {
        var machine = Self.active()
        _ = Self.batch(&machine, entry: 2, size: 3)
        _ = try machine.acknowledge(Self.id(entry: 2, batchIndex: 1))
        _ = machine.disconnected(error: PulsarClientErrorBox(PulsarConsumerError(code: .consumerClosed, detail: "gone")))
        _ = machine.subscribeRequested(requestID: 2)
        _ = machine.subscribeSucceeded(requestID: 2)
        #expect(Self.batch(&machine, entry: 2, size: 3) == [])
        #expect(machine.queue.count == 2)
        #expect(Self.takeMessage(&machine).0?.id.batchIndex == 0)
        #expect(Self.takeMessage(&machine).0?.id.batchIndex == 2)
    }

    @Test("a retryable re-subscribe failure reconnects again; a permanent one ends the reader with the error")
    func resubscribeFailures() {
        var machine = Self.active()
        let box = PulsarClientErrorBox(PulsarConsumerError(code: .subscribeFailed, detail: "x"))
        _ = machine.disconnected(error: box)
        _ = machine.subscribeRequested(requestID: 5)
        #expect(machine.subscribeFailed(requestID: 5, error: box, retry: true) == [.reconnect])
        _ = machine.subscribeRequested(requestID: 6)
        #expect(machine.next() == .wait)
        #expect(machine.subscribeFailed(requestID: 6, error: box, retry: false) == [.finishReader(box)])
        #expect(machine.state == .closed)
    }

    @Test("close sends CLOSE_CONSUMER, then ends the reader; acks after close are refused")
    func close() {
        var machine = Self.active()
        _ = Self.plain(&machine, entry: 1)
        _ = Self.takeMessage(&machine)
        #expect(machine.next() == .wait)
        #expect(machine.closeRequested(requestID: 9) == [.sendCloseConsumer(requestID: 9)])
        #expect(machine.closeAnswered(requestID: 9) == [.closeCompleted, .finishReader(nil)])
        #expect(machine.next() == .finish(nil))
        #expect(throws: PulsarConsumerError.self) { try machine.acknowledge(Self.id(entry: 1)) }
        #expect(machine.closeRequested(requestID: 10) == [.closeCompleted])
    }

    @Test("closing while disconnected completes at once")
    func closeWhileDisconnected() {
        var machine = Self.active()
        _ = machine.disconnected(error: PulsarClientErrorBox(PulsarConsumerError(code: .consumerClosed, detail: "gone")))
        #expect(machine.closeRequested(requestID: 3) == [.closeCompleted])
        #expect(machine.state == .closed)
    }
}
