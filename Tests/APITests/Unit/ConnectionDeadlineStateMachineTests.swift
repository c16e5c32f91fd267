import HTTPTypes
import NIOCore
import Testing
@testable import HTTPServerLimits

/// Which deadline applies to a connection and what its expiry does.
struct ConnectionDeadlineStateMachineTests {
    let limits = HTTPServerLimits(headerTimeout: .seconds(10), bodyTimeout: .seconds(30), idleTimeout: .seconds(60))
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func at(_ seconds: Int64) -> NIODeadline { start + .seconds(seconds) }

    @Test func aNewConnectionHasTheHeaderTimeoutAndIsAnswered408() {
        var machine = ConnectionDeadlineStateMachine(limits: limits, now: start)
        #expect(machine.phase == .head)
        #expect(machine.deadline == at(10))
        #expect(machine.timerFired(now: at(9)) == .rearm(at(10)))
        #expect(machine.timerFired(now: at(10)) == .close(respond: .requestTimeout))
        #expect(machine.isClosed)
        #expect(machine.timerFired(now: at(20)) == .none)
    }

    @Test func theBodyTimeoutRunsFromTheHeadUntilTheEnd() {
        var machine = ConnectionDeadlineStateMachine(limits: limits, now: start)
        machine.requestHeadReceived(now: at(2))
        #expect(machine.phase == .body)
        #expect(machine.deadline == at(32))
        #expect(machine.timerFired(now: at(32)) == .close(respond: .requestTimeout))
    }

    @Test func aRequestBeingAnsweredHasNoDeadlineThenTheIdleTimeoutApplies() {
        var machine = ConnectionDeadlineStateMachine(limits: limits, now: start)
        machine.requestHeadReceived(now: at(1))
        machine.requestEndReceived(now: at(2))
        #expect(machine.phase == .processing)
        #expect(machine.deadline == nil)
        #expect(machine.timerFired(now: at(500)) == .none)
        machine.responseHeadSent()
        machine.responseEndSent(now: at(600))
        #expect(machine.phase == .idle)
        #expect(machine.deadline == at(660))
        // Idle expiry closes without a response: there is no request to answer.
        #expect(machine.timerFired(now: at(660)) == .close(respond: nil))
    }

    @Test func theFirstByteOfTheNextRequestStartsItsHeaderTimeout() {
        var machine = ConnectionDeadlineStateMachine(limits: limits, now: start)
        machine.requestHeadReceived(now: at(0))
        machine.requestEndReceived(now: at(0))
        machine.responseEndSent(now: at(1))
        machine.bytesReceived(now: at(30))
        #expect(machine.phase == .head)
        #expect(machine.deadline == at(40))
        // Further bytes of the same head do not extend it.
        machine.bytesReceived(now: at(39))
        #expect(machine.deadline == at(40))
        #expect(machine.timerFired(now: at(40)) == .close(respond: .requestTimeout))
    }

    @Test func aStalledBodyAfterAnEarlyResponseClosesWithoutASecondResponse() {
        var machine = ConnectionDeadlineStateMachine(limits: limits, now: start)
        machine.requestHeadReceived(now: at(0))
        machine.responseHeadSent()
        machine.responseEndSent(now: at(1))
        #expect(machine.phase == .body)
        #expect(machine.timerFired(now: at(30)) == .close(respond: nil))
    }

    @Test func aBodyEndingAfterAnEarlyResponseGoesIdle() {
        var machine = ConnectionDeadlineStateMachine(limits: limits, now: start)
        machine.requestHeadReceived(now: at(0))
        machine.responseEndSent(now: at(1))
        machine.requestEndReceived(now: at(2))
        #expect(machine.phase == .idle)
        #expect(machine.deadline == at(62))
    }

    @Test func noTimeoutResponseWhileAResponseIsBeingWritten() {
        var machine = ConnectionDeadlineStateMachine(limits: limits, now: start)
        machine.requestHeadReceived(now: at(0))
        machine.responseHeadSent()
        #expect(machine.timerFired(now: at(30)) == .close(respond: nil))
    }

    @Test func aPipelinedRequestKeepsTheConnectionBusyUntilBothAreAnswered() {
        var machine = ConnectionDeadlineStateMachine(limits: limits, now: start)
        machine.requestHeadReceived(now: at(0))
        machine.requestEndReceived(now: at(0))
        machine.requestHeadReceived(now: at(0))
        machine.requestEndReceived(now: at(0))
        machine.responseEndSent(now: at(1))
        #expect(machine.phase == .processing)
        #expect(machine.unansweredRequests == 1)
        machine.responseEndSent(now: at(2))
        #expect(machine.phase == .idle)
        #expect(machine.deadline == at(62))
    }

    @Test func aHeadOverTheLimitIsAnswered431UnlessAResponseIsUnderWay() {
        var fresh = ConnectionDeadlineStateMachine(limits: limits, now: start)
        #expect(fresh.headerTooLarge() == .requestHeaderFieldsTooLarge)
        #expect(fresh.isClosed)
        #expect(fresh.headerTooLarge() == nil)

        var busy = ConnectionDeadlineStateMachine(limits: limits, now: start)
        busy.requestHeadReceived(now: at(0))
        busy.requestEndReceived(now: at(0))
        #expect(busy.headerTooLarge() == nil)
    }

    @Test func theCounterRefusesOverTheLimitAndFreesOnClose() {
        let counter = ConnectionCounter(limit: 2)
        #expect(counter.tryOpen())
        #expect(counter.tryOpen())
        #expect(!counter.tryOpen())
        #expect(counter.current == 2)
        counter.closed()
        #expect(counter.tryOpen())
        #expect(counter.current == 2)
    }
}
