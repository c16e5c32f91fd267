import NIOCore
import Testing
@testable import PulsarClient

@Suite struct ProducerStateMachineTests {
    typealias Machine = ProducerStateMachine<Int, Int>
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    /// Sends one message (its slot already reserved) and builds each of its frames as
    /// "frame-<sequence id>" (a batch as "batch-<first>-<last>").
    @discardableResult
    func send(_ machine: inout Machine, tag: Int, explicit: Int64? = nil, at time: NIODeadline? = nil) -> Machine.WriteAction {
        let plan = machine.send(PulsarOutgoingMessage([1], sequenceID: explicit), completion: tag, now: time ?? t0, publishTime: 0)
        var action = Machine.WriteAction()
        for job in plan.jobs { action = build(&machine, job) }
        return action
    }

    func label(_ job: FrameJob) -> String {
        switch job.content {
        case .single(let sequenceID, _): return "frame-\(sequenceID)"
        case .batch(let items): return "batch-\(items.map(\.sequenceID).min() ?? 0)-\(items.map(\.sequenceID).max() ?? 0)"
        }
    }

    @discardableResult
    func build(_ machine: inout Machine, _ job: FrameJob) -> Machine.WriteAction {
        machine.framesBuilt(entryID: job.entryID, .success([ByteBuffer(string: label(job))]))
    }

    /// PRODUCER_SUCCESS, then what goes out on the connection.
    func created(_ machine: inout Machine, lastSequenceID: Int64 = -1, maxMessageSize: Int = PulsarFrameConstants.defaultMaxMessageSize) -> [String] {
        _ = machine.producerCreated(lastSequenceID: lastSequenceID, maxMessageSize: maxMessageSize)
        return written(&machine)
    }

    func written(_ machine: inout Machine) -> [String] {
        machine.takeOutbox().map { String(buffer: $0) }
    }

    func messageID(_ entry: UInt64) -> Pulsar_Proto_MessageIdData {
        var id = Pulsar_Proto_MessageIdData()
        id.ledgerID = 1
        id.entryID = entry
        return id
    }

    func mustWait(_ result: Machine.ReserveResult) -> UInt64? {
        if case .mustWait(let id) = result { return id }
        Issue.record("expected mustWait, got \(result)")
        return nil
    }

    /// A ready machine with `count` messages written.
    func readyMachine(max: Int = 100, sent count: Int) -> Machine {
        var machine = Machine(maxPendingMessages: max)
        #expect(created(&machine).isEmpty)
        for tag in 0..<count {
            #expect(machine.reserveSlot() == .reserved)
            send(&machine, tag: tag)
        }
        #expect(written(&machine).count == count)
        return machine
    }

    @Test func sequenceIDsStartAfterFirstLastSequenceIDOnly() {
        var machine = Machine(maxPendingMessages: 10)
        _ = created(&machine, lastSequenceID: 41)
        #expect(machine.lastSequenceIDFromBroker == 41)
        #expect(machine.assignSequenceID(explicit: nil) == 42)
        _ = machine.disconnected(jitter: 0.5)
        _ = created(&machine, lastSequenceID: 1000)  // a reconnect must not move the generator
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
            #expect(send(&machine, tag: tag).scheduleDrain == false)
        }
        let drain = machine.producerCreated(lastSequenceID: -1)
        #expect(drain)
        #expect(written(&machine) == ["frame-0", "frame-1", "frame-2"])
        #expect(machine.reserveSlot() == .reserved)
        #expect(send(&machine, tag: 3).scheduleDrain)
        #expect(written(&machine) == ["frame-3"])
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
        #expect(created(&machine) == ["frame-0", "frame-1", "frame-2"])
    }

    @Test func backpressureHandsSlotsToWaiters() {
        var machine = readyMachine(max: 2, sent: 2)
        guard let first = mustWait(machine.reserveSlot()), let second = mustWait(machine.reserveSlot()) else { return }
        guard case .parked = machine.parkSender(first, 100), case .parked = machine.parkSender(second, 200) else {
            Issue.record("expected both senders parked")
            return
        }
        #expect(machine.waitingSenders == 2)
        guard case .resolved(let resolution) = machine.receiptReceived(sequenceID: 0, messageID: messageID(1)) else {
            Issue.record("expected resolution")
            return
        }
        #expect(resolution.resumeSenders == [100])
        #expect(machine.waitingSenders == 1)
        #expect(machine.occupiedSlots == 2)
        // A newcomer does not overtake the remaining waiter.
        #expect(mustWait(machine.reserveSlot()) != nil)
    }

    @Test func sendTimeoutFailsFromTheHead() {
        var machine = Machine(maxPendingMessages: 10)
        _ = created(&machine)
        for (tag, offset) in [(0, 0), (1, 0), (2, 5)] {
            _ = machine.reserveSlot()
            send(&machine, tag: tag, at: t0 + .seconds(Int64(offset)))
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
        _ = created(&machine)
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
        _ = created(&machine)
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

    @Test func closeForGoodWakesWaitersAndFlushers() {
        var machine = readyMachine(max: 1, sent: 1)
        guard let id = mustWait(machine.reserveSlot()) else { return }
        _ = machine.parkSender(id, 7)
        let flush = machine.flushRequested(70, now: t0, publishTime: 0)
        #expect(flush.resolution.resumeFlushers.isEmpty)
        let resolution = machine.closeForGood(PulsarClientError(code: .producerClosed, message: "bye"))
        #expect(resolution.resumeSenders == [7])
        #expect(resolution.resumeFlushers == [70])
        #expect(resolution.failed.count == 1)
        // The woken sender's send is refused and gives the slot back.
        let plan = machine.send(PulsarOutgoingMessage([1]), completion: 9, now: t0, publishTime: 0)
        #expect(plan.refused?.0 == 9)
        #expect(plan.jobs.isEmpty)
        #expect(machine.occupiedSlots == 0)
    }

    // MARK: frames built outside the lock

    @Test func framesBuiltOutOfOrderAreWrittenInQueueOrder() {
        var machine = Machine(maxPendingMessages: 10)
        _ = created(&machine)
        var jobs: [FrameJob] = []
        for tag in 0..<3 {
            _ = machine.reserveSlot()
            jobs += machine.send(PulsarOutgoingMessage([1]), completion: tag, now: t0, publishTime: 0).jobs
        }
        #expect(jobs.count == 3)
        // The third and second finish building before the first: nothing may go out ahead of it.
        #expect(build(&machine, jobs[2]).scheduleDrain == false)
        #expect(build(&machine, jobs[1]).scheduleDrain == false)
        #expect(written(&machine).isEmpty)
        #expect(build(&machine, jobs[0]).scheduleDrain)
        #expect(written(&machine) == ["frame-0", "frame-1", "frame-2"])
    }

    @Test func aDrainIsScheduledOncePerBurst() {
        var machine = readyMachine(sent: 0)
        _ = machine.reserveSlot()
        #expect(send(&machine, tag: 0).scheduleDrain)
        _ = machine.reserveSlot()
        #expect(send(&machine, tag: 1).scheduleDrain == false)  // rides on the scheduled drain
        #expect(written(&machine) == ["frame-0", "frame-1"])
        _ = machine.reserveSlot()
        #expect(send(&machine, tag: 2).scheduleDrain)
    }

    @Test func aFrameThatCannotBeBuiltFailsAloneAndReleasesItsSlot() {
        var machine = Machine(maxPendingMessages: 10)
        _ = created(&machine)
        var jobs: [FrameJob] = []
        for tag in 0..<2 {
            _ = machine.reserveSlot()
            jobs += machine.send(PulsarOutgoingMessage([1]), completion: tag, now: t0, publishTime: 0).jobs
        }
        build(&machine, jobs[1])
        let action = machine.framesBuilt(entryID: jobs[0].entryID, .failure(PulsarClientError(code: .messageTooLarge, message: "big")))
        #expect(action.resolution.failed.map(\.1.code) == [.messageTooLarge])
        #expect(action.scheduleDrain)
        #expect(written(&machine) == ["frame-1"])
        #expect(machine.pendingCount == 1)
        #expect(machine.occupiedSlots == 1)
        guard case .resolved(let resolution) = machine.receiptReceived(sequenceID: 1, messageID: messageID(1)) else {
            Issue.record("the entry behind the failed one must resolve")
            return
        }
        #expect(resolution.succeeded.count == 1)
    }

    @Test func framesOfAnEntryThatTimedOutMeanwhileAreDropped() {
        var machine = Machine(maxPendingMessages: 10)
        _ = created(&machine)
        _ = machine.reserveSlot()
        let jobs = machine.send(PulsarOutgoingMessage([1]), completion: 0, now: t0, publishTime: 0).jobs
        #expect(machine.checkTimeouts(now: t0 + .seconds(30), sendTimeout: .seconds(30)).failed.count == 1)
        #expect(build(&machine, jobs[0]).scheduleDrain == false)
        #expect(written(&machine).isEmpty)
        #expect(machine.occupiedSlots == 0)
    }

    @Test func aChunkedMessageCompletesOnItsLastReceiptAndResendsOnlyUnacknowledgedChunks() {
        var machine = Machine(maxPendingMessages: 10, chunking: true, maxMessageSize: 100)
        _ = created(&machine, maxMessageSize: 100)
        _ = machine.reserveSlot()
        let jobs = machine.send(PulsarOutgoingMessage(payload: ByteBuffer(repeating: 1, count: 300)), completion: 5, now: t0, publishTime: 0).jobs
        guard let job = jobs.first, case .single = job.content, job.chunking, job.maxMessageSize == 100 else {
            Issue.record("a message above the limit is built on its own, for chunking")
            return
        }
        _ = machine.framesBuilt(entryID: job.entryID, .success(["c0", "c1", "c2"].map { ByteBuffer(string: $0) }))
        #expect(written(&machine) == ["c0", "c1", "c2"])
        guard case .resolved(let first) = machine.receiptReceived(sequenceID: 0, messageID: messageID(1)) else {
            Issue.record("expected an empty resolution for the first chunk")
            return
        }
        #expect(first.isEmpty)
        _ = machine.disconnected(jitter: 0)
        #expect(created(&machine, maxMessageSize: 100) == ["c1", "c2"])
        _ = machine.receiptReceived(sequenceID: 0, messageID: messageID(2))
        guard case .resolved(let last) = machine.receiptReceived(sequenceID: 0, messageID: messageID(3)) else {
            Issue.record("expected the message to resolve on its last chunk")
            return
        }
        #expect(last.succeeded.map(\.1.entryID) == [3])
        #expect(machine.occupiedSlots == 0)
    }

    // MARK: batching

    func batchingMachine(max: Int = 100, messages: Int = 3, bytes: Int = 1000, delay: Duration = .milliseconds(10)) -> Machine {
        var machine = Machine(maxPendingMessages: max, batching: BatchingOptions(maxMessages: messages, maxBytes: bytes, maxDelay: delay))
        _ = created(&machine)
        return machine
    }

    @Test func aBatchClosesWhenFullAsOneEntryCountingEveryMessage() {
        var machine = batchingMachine(max: 3, messages: 3)
        var timers: [ProducerBatch<Int>.CloseTimer?] = []
        var jobs: [FrameJob] = []
        for tag in 0..<3 {
            #expect(machine.reserveSlot() == .reserved)
            let plan = machine.send(PulsarOutgoingMessage([1]), completion: tag, now: t0, publishTime: 0)
            timers.append(plan.timer)
            jobs += plan.jobs
        }
        #expect(timers == [.after(.milliseconds(10), generation: 0), nil, nil])
        #expect(jobs.map(label) == ["batch-0-2"])
        _ = build(&machine, jobs[0])
        #expect(written(&machine) == ["batch-0-2"])
        #expect(mustWait(machine.reserveSlot()) != nil)
        guard case .resolved(let resolution) = machine.receiptReceived(sequenceID: 0, messageID: messageID(1)) else {
            Issue.record("expected resolution")
            return
        }
        guard case .many(let tags) = resolution.succeeded.first?.0.completions else {
            Issue.record("a batch completes every message")
            return
        }
        #expect(tags == [0, 1, 2])
        #expect(machine.occupiedSlots == 1)  // the waiter's
    }

    @Test func theBatchTimerClosesOnlyItsOwnBatch() {
        var machine = batchingMachine(messages: 10)
        _ = machine.reserveSlot()
        guard case .after(_, let generation)? = machine.send(PulsarOutgoingMessage([1]), completion: 0, now: t0, publishTime: 0).timer else {
            Issue.record("the first message arms the timer")
            return
        }
        _ = machine.reserveSlot()
        #expect(machine.send(PulsarOutgoingMessage([1]), completion: 1, now: t0, publishTime: 0).timer == nil)
        let fired = machine.batchTimerFired(generation: generation, now: t0, publishTime: 0)
        #expect(fired.jobs.map(label) == ["batch-0-1"])
        // A timer armed for that batch firing again, or late, closes nothing.
        _ = machine.reserveSlot()
        _ = machine.send(PulsarOutgoingMessage([1]), completion: 2, now: t0, publishTime: 0)
        #expect(machine.batchTimerFired(generation: generation, now: t0, publishTime: 0).jobs.isEmpty)
    }

    @Test func zeroDelayClosesOnTheNextTick() {
        var machine = batchingMachine(messages: 10, delay: .zero)
        _ = machine.reserveSlot()
        #expect(machine.send(PulsarOutgoingMessage([1]), completion: 0, now: t0, publishTime: 0).timer == .nextTick(generation: 0))
    }

    @Test func aMessageThatWouldOverflowTheBytesStartsTheNextBatch() {
        var machine = batchingMachine(messages: 10, bytes: 10)
        _ = machine.reserveSlot()
        _ = machine.send(PulsarOutgoingMessage(payload: ByteBuffer(repeating: 1, count: 6)), completion: 0, now: t0, publishTime: 0)
        _ = machine.reserveSlot()
        let plan = machine.send(PulsarOutgoingMessage(payload: ByteBuffer(repeating: 1, count: 6)), completion: 1, now: t0, publishTime: 0)
        #expect(plan.jobs.map(label) == ["batch-0-0"])
        #expect(plan.timer == .after(.milliseconds(10), generation: 1))
    }

    @Test func flushClosesTheOpenBatchAndWaitsForItsReceipt() {
        var machine = batchingMachine(messages: 10)
        _ = machine.reserveSlot()
        _ = machine.send(PulsarOutgoingMessage([1]), completion: 0, now: t0, publishTime: 0)
        let plan = machine.flushRequested(42, now: t0, publishTime: 0)
        #expect(plan.jobs.map(label) == ["batch-0-0"])
        #expect(plan.resolution.resumeFlushers.isEmpty)
        _ = build(&machine, plan.jobs[0])
        guard case .resolved(let resolution) = machine.receiptReceived(sequenceID: 0, messageID: messageID(1)) else {
            Issue.record("expected resolution")
            return
        }
        #expect(resolution.resumeFlushers == [42])
        // Nothing pending: a flush returns at once.
        #expect(machine.flushRequested(43, now: t0, publishTime: 0).resolution.resumeFlushers == [43])
    }

    @Test func closingFailsTheOpenBatch() {
        var machine = batchingMachine(messages: 10)
        for tag in 0..<2 {
            _ = machine.reserveSlot()
            _ = machine.send(PulsarOutgoingMessage([1]), completion: tag, now: t0, publishTime: 0)
        }
        #expect(machine.closeRequested() == false)
        let resolution = machine.closeForGood(PulsarClientError(code: .producerClosed, message: "bye"))
        #expect(resolution.failed.flatMap { $0.0.completions.all } == [0, 1])
        #expect(machine.occupiedSlots == 0)
    }

    @Test func aMessageThatMayNeedChunkingSendsTheOpenBatchFirst() {
        var machine = Machine(maxPendingMessages: 10, batching: BatchingOptions(maxMessages: 10), chunking: true, maxMessageSize: 100)
        _ = created(&machine, maxMessageSize: 100)
        _ = machine.reserveSlot()
        _ = machine.send(PulsarOutgoingMessage([1]), completion: 0, now: t0, publishTime: 0)
        _ = machine.reserveSlot()
        let plan = machine.send(PulsarOutgoingMessage(payload: ByteBuffer(repeating: 1, count: 300)), completion: 1, now: t0, publishTime: 0)
        #expect(plan.jobs.map(label) == ["batch-0-0", "frame-1"])
    }

    // MARK: cancellation of a waiting sender

    @Test func aParkedSenderCancelledIsHandedBackAndTakesNoSlot() {
        var machine = readyMachine(max: 1, sent: 1)
        guard let first = mustWait(machine.reserveSlot()), let second = mustWait(machine.reserveSlot()) else { return }
        _ = machine.parkSender(first, 1)
        _ = machine.parkSender(second, 2)
        #expect(machine.cancelWaiting(first) == 1)
        #expect(machine.waitingSenders == 1)
        guard case .resolved(let resolution) = machine.receiptReceived(sequenceID: 0, messageID: messageID(1)) else {
            Issue.record("expected resolution")
            return
        }
        // The freed slot goes to the sender still waiting.
        #expect(resolution.resumeSenders == [2])
        #expect(machine.occupiedSlots == 1)
    }

    @Test func aCancellationBeforeParkingResumesWithCancelled() {
        var machine = readyMachine(max: 1, sent: 1)
        guard let id = mustWait(machine.reserveSlot()) else { return }
        #expect(machine.cancelWaiting(id) == nil)
        guard case .resume(.failure(let error)) = machine.parkSender(id, 1) else {
            Issue.record("a sender cancelled before it parked must not wait")
            return
        }
        #expect(error.code == .cancelled)
        #expect(machine.waitingSenders == 0)
        // Nothing waits any more, so the next freed slot is not handed to anyone.
        guard case .resolved(let resolution) = machine.receiptReceived(sequenceID: 0, messageID: messageID(1)) else {
            Issue.record("expected resolution")
            return
        }
        #expect(resolution.resumeSenders.isEmpty)
        #expect(machine.occupiedSlots == 0)
    }

    @Test func aSenderGrantedBeforeItParksIsNotCancelled() {
        var machine = readyMachine(max: 1, sent: 1)
        guard let id = mustWait(machine.reserveSlot()) else { return }
        guard case .resolved(let resolution) = machine.receiptReceived(sequenceID: 0, messageID: messageID(1)) else {
            Issue.record("expected resolution")
            return
        }
        #expect(resolution.resumeSenders.isEmpty)  // not parked yet: nothing to resume
        #expect(machine.cancelWaiting(id) == nil)  // holds the slot: it sends
        guard case .resume(.success) = machine.parkSender(id, 1) else {
            Issue.record("a granted sender resumes at once with its slot")
            return
        }
        #expect(machine.occupiedSlots == 1)
    }

    // MARK: reconnect

    @Test func oneReconnectIsScheduledAtATime() {
        var machine = readyMachine(sent: 1)
        guard case .reconnect = machine.disconnected(jitter: 0) else {
            Issue.record("expected reconnect")
            return
        }
        guard case .none = machine.disconnected(jitter: 0) else {
            Issue.record("a second disconnect while a reconnect is scheduled must not schedule another")
            return
        }
        guard case .retry = machine.creationFailed(.connectionClosed(), jitter: 0) else {
            Issue.record("expected retry")
            return
        }
        #expect(machine.reconnectScheduled)
        #expect(created(&machine) == ["frame-0"])
        #expect(machine.reconnectScheduled == false)
    }

    @Test func framesBuiltWhileDisconnectedWaitForTheNextConnection() {
        var machine = readyMachine(sent: 0)
        _ = machine.disconnected(jitter: 0)
        _ = machine.reserveSlot()
        #expect(send(&machine, tag: 0).scheduleDrain == false)
        #expect(written(&machine).isEmpty)
        #expect(created(&machine) == ["frame-0"])
    }
}
