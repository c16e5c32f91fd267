import NIOCore
import Testing
@testable import PulsarClient

@Suite struct ProducerStateMachineTests {
    typealias Machine = ProducerStateMachine<Int>
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func entry(_ machine: inout Machine, tag: Int, explicit: Int64? = nil, at time: NIODeadline? = nil) -> Machine.Entry {
        let id = machine.assignSequenceID(explicit: explicit)
        return Machine.Entry(sequenceID: id, highestSequenceID: id, frame: ByteBuffer(string: "frame-\(id)"),
                             completions: .one(tag), enqueuedAt: time ?? t0)
    }

    func messageID(_ entry: UInt64) -> Pulsar_Proto_MessageIdData {
        var id = Pulsar_Proto_MessageIdData()
        id.ledgerID = 1
        id.entryID = entry
        return id
    }

    /// A ready machine with `count` messages written.
    func readyMachine(max: Int = 100, sent count: Int) -> Machine {
        var machine = Machine(maxPendingMessages: max)
        #expect(machine.producerCreated(lastSequenceID: -1).isEmpty)
        for tag in 0..<count {
            #expect(machine.reserveSlot() == .reserved)
            let e = entry(&machine, tag: tag)
            guard case .write = machine.enqueue(e) else {
                Issue.record("expected write")
                continue
            }
        }
        return machine
    }

    @Test func sequenceIDsStartAfterFirstLastSequenceIDOnly() {
        var machine = Machine(maxPendingMessages: 10)
        _ = machine.producerCreated(lastSequenceID: 41)
        #expect(machine.lastSequenceIDFromBroker == 41)
        #expect(machine.assignSequenceID(explicit: nil) == 42)
        _ = machine.disconnected(jitter: 0.5)
        _ = machine.producerCreated(lastSequenceID: 1000)  // a reconnect must not move the generator
        #expect(machine.lastSequenceIDFromBroker == 41)
        #expect(machine.assignSequenceID(explicit: nil) == 43)
    }

    @Test func explicitSequenceIDsKeepTheGeneratorMonotonic() {
        var machine = Machine(maxPendingMessages: 10)
        _ = machine.producerCreated(lastSequenceID: -1)
        #expect(machine.assignSequenceID(explicit: nil) == 0)
        #expect(machine.assignSequenceID(explicit: 500) == 500)
        #expect(machine.assignSequenceID(explicit: nil) == 501)
        #expect(machine.assignSequenceID(explicit: 7) == 7)
        #expect(machine.assignSequenceID(explicit: nil) == 502)
    }

    @Test func sendsWhileConnectingAreQueuedAndResentInOrder() {
        var machine = Machine(maxPendingMessages: 10)
        for tag in 0..<3 {
            #expect(machine.reserveSlot() == .reserved)
            guard case .queued = machine.enqueue(entry(&machine, tag: tag)) else {
                Issue.record("expected queued")
                return
            }
        }
        let frames = machine.producerCreated(lastSequenceID: -1)
        #expect(frames.map { String(buffer: $0) } == ["frame-0", "frame-1", "frame-2"])
        #expect(machine.reserveSlot() == .reserved)
        guard case .write(let frame) = machine.enqueue(entry(&machine, tag: 3)) else {
            Issue.record("expected write once ready")
            return
        }
        #expect(String(buffer: frame) == "frame-3")
    }

    @Test func receiptsCompleteInFIFOOrder() {
        var machine = readyMachine(sent: 3)
        guard case .resolved(let first) = machine.receiptReceived(sequenceID: 0, messageID: messageID(10)) else {
            Issue.record("expected resolution")
            return
        }
        #expect(first.succeeded.count == 1)
        #expect(first.succeeded.first?.1.entryID == 10)
        if case .one(let tag) = first.succeeded.first?.0.completions { #expect(tag == 0) } else { Issue.record("bad completion") }
        #expect(machine.pendingCount == 2)
        #expect(machine.resolvedTotal == 1)
    }

    @Test func staleReceiptIsIgnored() {
        var machine = readyMachine(sent: 3)
        _ = machine.receiptReceived(sequenceID: 0, messageID: messageID(1))
        guard case .ignoreStale = machine.receiptReceived(sequenceID: 0, messageID: messageID(1)) else {
            Issue.record("duplicate receipt must be ignored")
            return
        }
        #expect(machine.pendingCount == 2)
        var empty = readyMachine(sent: 0)
        guard case .ignoreStale = empty.receiptReceived(sequenceID: 5, messageID: messageID(1)) else {
            Issue.record("receipt with nothing pending must be ignored")
            return
        }
    }

    @Test func receiptAheadOfTheHeadClosesTheConnection() {
        var machine = readyMachine(sent: 3)
        guard case .closeConnection(let error) = machine.receiptReceived(sequenceID: 2, messageID: messageID(1)) else {
            Issue.record("out-of-order receipt must force a resend")
            return
        }
        #expect(error.code == .protocolError)
        #expect(machine.pendingCount == 3)
        // After the reconnect every frame goes out again, unchanged and in order.
        _ = machine.disconnected(jitter: 0)
        #expect(machine.producerCreated(lastSequenceID: -1).map { String(buffer: $0) } == ["frame-0", "frame-1", "frame-2"])
    }

    @Test func backpressureHandsSlotsToWaiters() {
        var machine = readyMachine(max: 2, sent: 2)
        #expect(machine.reserveSlot() == .mustWait)
        #expect(machine.reserveSlot() == .mustWait)
        #expect(machine.waitingSenders == 2)
        guard case .resolved(let resolution) = machine.receiptReceived(sequenceID: 0, messageID: messageID(1)) else {
            Issue.record("expected resolution")
            return
        }
        #expect(resolution.resumeWaiters == 1)
        #expect(machine.waitingSenders == 1)
        #expect(machine.occupiedSlots == 2)
        // A newcomer does not overtake the remaining waiter.
        #expect(machine.reserveSlot() == .mustWait)
    }

    @Test func sendTimeoutFailsFromTheHead() {
        var machine = Machine(maxPendingMessages: 10)
        _ = machine.producerCreated(lastSequenceID: -1)
        for (tag, offset) in [(0, 0), (1, 0), (2, 5)] {
            _ = machine.reserveSlot()
            _ = machine.enqueue(entry(&machine, tag: tag, at: t0 + .seconds(Int64(offset))))
        }
        let none = machine.checkTimeouts(now: t0 + .seconds(9), sendTimeout: .seconds(10))
        #expect(none.failed.isEmpty)
        let expired = machine.checkTimeouts(now: t0 + .seconds(10), sendTimeout: .seconds(10))
        #expect(expired.failed.map(\.0.sequenceID) == [0, 1])
        #expect(expired.failed.allSatisfy { $0.1.code == .timeout })
        #expect(machine.pendingCount == 1)
        #expect(machine.occupiedSlots == 1)
        // The late receipt of a timed-out message is stale now.
        guard case .ignoreStale = machine.receiptReceived(sequenceID: 1, messageID: messageID(1)) else {
            Issue.record("expected stale")
            return
        }
        let disabled = machine.checkTimeouts(now: t0 + .seconds(1000), sendTimeout: .zero)
        #expect(disabled.failed.isEmpty)
    }

    @Test func sendErrorNotAllowedDropsTheProducer() {
        var machine = readyMachine(sent: 2)
        guard case .closeProducer(let resolution) = machine.sendErrorReceived(sequenceID: 0, error: .notAllowedError, message: "no") else {
            Issue.record("expected closeProducer")
            return
        }
        #expect(resolution.failed.count == 2)
        #expect(resolution.failed.allSatisfy { $0.1.code == .notAllowed })
        guard case .failed(let error) = machine.reserveSlot() else {
            Issue.record("closed producer must refuse sends")
            return
        }
        #expect(error.code == .notAllowed)
    }

    @Test func sendErrorTopicTerminatedDropsTheProducer() {
        var machine = readyMachine(sent: 1)
        guard case .closeProducer = machine.sendErrorReceived(sequenceID: 0, error: .topicTerminatedError, message: "end") else {
            Issue.record("expected closeProducer")
            return
        }
    }

    @Test func otherSendErrorsForceAResend() {
        var machine = readyMachine(sent: 2)
        guard case .closeConnection(let error) = machine.sendErrorReceived(sequenceID: 0, error: .persistenceError, message: "disk") else {
            Issue.record("expected closeConnection")
            return
        }
        #expect(error.serverError == .persistenceError)
        #expect(machine.pendingCount == 2)
    }

    @Test func disconnectBacksOffExponentiallyWithCap() {
        var machine = Machine(maxPendingMessages: 10, initialBackoff: .milliseconds(100), maxBackoff: .seconds(1))
        _ = machine.producerCreated(lastSequenceID: -1)
        var delays: [Int64] = []
        guard case .reconnect(let first) = machine.disconnected(jitter: 0.5) else {
            Issue.record("expected reconnect")
            return
        }
        delays.append(first.nanoseconds / 1_000_000)
        for _ in 0..<6 {
            guard case .retry(let delay, let failed) = machine.creationFailed(.connectionClosed(), jitter: 0.5) else {
                Issue.record("expected retry")
                return
            }
            #expect(failed.failed.isEmpty)
            delays.append(delay.nanoseconds / 1_000_000)
        }
        #expect(delays == [100, 200, 400, 800, 1000, 1000, 1000])
        // Success resets the backoff.
        _ = machine.producerCreated(lastSequenceID: -1)
        guard case .reconnect(let again) = machine.disconnected(jitter: 0.5) else {
            Issue.record("expected reconnect")
            return
        }
        #expect(again == .milliseconds(100))
    }

    @Test func jitterStaysWithinTenPercent() {
        var low = Machine(maxPendingMessages: 1, initialBackoff: .milliseconds(100))
        var high = Machine(maxPendingMessages: 1, initialBackoff: .milliseconds(100))
        guard case .reconnect(let a) = low.disconnected(jitter: 0), case .reconnect(let b) = high.disconnected(jitter: 1) else {
            Issue.record("expected reconnect")
            return
        }
        #expect(a == .milliseconds(90))
        #expect(b == .milliseconds(110))
    }

    @Test func epochGrowsPerCreation() {
        var machine = Machine(maxPendingMessages: 1)
        #expect(machine.nextEpoch() == 0)
        #expect(machine.nextEpoch() == 1)
        #expect(machine.nextEpoch() == 2)
    }

    @Test func fatalCreationErrorsCloseForGood() {
        for serverError in [Pulsar_Proto_ServerError.topicNotFound, .topicTerminatedError, .producerFenced] {
            var machine = readyMachine(sent: 2)
            _ = machine.disconnected(jitter: 0)
            guard case .closed(let resolution) = machine.creationFailed(.server(serverError, message: "x"), jitter: 0) else {
                Issue.record("\(serverError) must close the producer")
                continue
            }
            #expect(resolution.failed.count == 2)
        }
    }

    @Test func quotaExceptionFailsPendingButRetries() {
        var machine = readyMachine(sent: 2)
        _ = machine.disconnected(jitter: 0)
        guard case .retry(_, let failed) = machine.creationFailed(.server(.producerBlockedQuotaExceededException, message: "quota"), jitter: 0) else {
            Issue.record("expected retry")
            return
        }
        #expect(failed.failed.count == 2)
        #expect(machine.reserveSlot() == .reserved)
    }

    @Test func transientCreationErrorsRetryKeepingPending() {
        var machine = readyMachine(sent: 2)
        _ = machine.disconnected(jitter: 0)
        guard case .retry(_, let failed) = machine.creationFailed(.server(.serviceNotReady, message: "moving"), jitter: 0) else {
            Issue.record("expected retry")
            return
        }
        #expect(failed.failed.isEmpty)
        #expect(machine.pendingCount == 2)
    }

    @Test func closeDrainsThenRefuses() {
        var machine = readyMachine(sent: 1)
        #expect(machine.closeRequested() == false)
        guard case .failed(let error) = machine.reserveSlot() else {
            Issue.record("closing producer must refuse sends")
            return
        }
        #expect(error.code == .producerClosed)
        _ = machine.receiptReceived(sequenceID: 0, messageID: messageID(1))
        #expect(machine.pendingCount == 0)
        #expect(machine.closeRequested() == true)
    }

    @Test func closeForGoodWakesWaiters() {
        var machine = readyMachine(max: 1, sent: 1)
        #expect(machine.reserveSlot() == .mustWait)
        let resolution = machine.closeForGood(PulsarClientError(code: .producerClosed, message: "bye"))
        #expect(resolution.resumeWaiters == 1)
        #expect(resolution.failed.count == 1)
        // The woken sender's enqueue fails and gives the slot back.
        guard case .fail = machine.enqueue(entry(&machine, tag: 9)) else {
            Issue.record("enqueue on a closed producer must fail")
            return
        }
        #expect(machine.occupiedSlots == 0)
    }

    @Test func batchEntryCountsEveryMessage() {
        var machine = Machine(maxPendingMessages: 3)
        _ = machine.producerCreated(lastSequenceID: -1)
        for _ in 0..<3 { #expect(machine.reserveSlot() == .reserved) }
        let first = machine.assignSequenceID(explicit: nil)
        _ = machine.assignSequenceID(explicit: nil)
        let last = machine.assignSequenceID(explicit: nil)
        let batch = Machine.Entry(sequenceID: first, highestSequenceID: last, frame: ByteBuffer(), completions: .many([1, 2, 3]), enqueuedAt: t0)
        _ = machine.enqueue(batch)
        #expect(machine.reserveSlot() == .mustWait)
        guard case .resolved(let resolution) = machine.receiptReceived(sequenceID: first, messageID: messageID(1)) else {
            Issue.record("expected resolution")
            return
        }
        #expect(resolution.succeeded.first?.0.messageCount == 3)
        #expect(resolution.resumeWaiters == 1)
    }
}
