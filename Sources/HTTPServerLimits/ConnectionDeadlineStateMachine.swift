import HTTPTypes
import NIOCore

/// Decides, for one HTTP/1 server connection, which deadline applies and what happens when it
/// passes. Pure: the handler feeds it what it reads and writes and acts on its answers.
///
/// Phases: `idle` (no byte of the next request yet; idle timeout), `head` (request bytes arrived,
/// head not complete; header timeout), `body` (head read, end not yet; body timeout),
/// `processing` (request read, response not finished; no deadline, the application owns it).
/// The first request of a connection starts in `head`, so a client that connects and sends
/// nothing is bounded by the header timeout.
struct ConnectionDeadlineStateMachine {
    enum Phase: Equatable {
        case idle, head, body, processing, closed
    }

    enum TimeoutAction: Equatable {
        case none
        /// The deadline moved while the timer was pending.
        case rearm(NIODeadline)
        /// Close; with a status, answer it first (nothing has been answered for this request yet).
        case close(respond: HTTPResponse.Status?)
    }

    let headerTimeout: TimeAmount
    let bodyTimeout: TimeAmount
    let idleTimeout: TimeAmount

    private(set) var phase: Phase = .head
    private(set) var deadline: NIODeadline?
    /// Request heads read whose response has not ended (more than one when pipelined).
    private(set) var unansweredRequests = 0
    /// A response head was written and its end not yet.
    private(set) var responseInFlight = false

    init(limits: HTTPServerLimits, now: NIODeadline) {
        self.headerTimeout = TimeAmount(limits.headerTimeout)
        self.bodyTimeout = TimeAmount(limits.bodyTimeout)
        self.idleTimeout = TimeAmount(limits.idleTimeout)
        self.deadline = now + headerTimeout
    }

    var isClosed: Bool { phase == .closed }

    /// Raw bytes arrived (before parsing): the first byte of a request starts its header timeout.
    mutating func bytesReceived(now: @autoclosure () -> NIODeadline) {
        guard phase == .idle else { return }
        phase = .head
        deadline = now() + headerTimeout
    }

    mutating func requestHeadReceived(now: NIODeadline) {
        guard phase != .closed else { return }
        unansweredRequests += 1
        phase = .body
        deadline = now + bodyTimeout
    }

    mutating func requestEndReceived(now: NIODeadline) {
        guard phase == .body else { return }
        if unansweredRequests == 0 {
            // Answered before the body was read (413, for one): wait for the next request.
            phase = .idle
            deadline = now + idleTimeout
        } else {
            phase = .processing
            deadline = nil
        }
    }

    mutating func responseHeadSent() {
        guard phase != .closed else { return }
        responseInFlight = true
    }

    mutating func responseEndSent(now: NIODeadline) {
        guard phase != .closed else { return }
        responseInFlight = false
        unansweredRequests = max(0, unansweredRequests - 1)
        if unansweredRequests == 0, phase == .processing {
            phase = .idle
            deadline = now + idleTimeout
        }
    }

    mutating func timerFired(now: NIODeadline) -> TimeoutAction {
        guard phase != .closed, let deadline else { return .none }
        if now < deadline { return .rearm(deadline) }
        let respond: HTTPResponse.Status?
        switch phase {
        case .head: respond = nothingAnswered(pending: 0) ? .requestTimeout : nil
        case .body: respond = nothingAnswered(pending: 1) ? .requestTimeout : nil
        case .idle, .processing, .closed: respond = nil
        }
        close()
        return .close(respond: respond)
    }

    /// The request head is larger than allowed; answer 431 unless a response is under way.
    mutating func headerTooLarge() -> HTTPResponse.Status? {
        guard phase != .closed else { return nil }
        let respond: HTTPResponse.Status? = nothingAnswered(pending: 0) ? .requestHeaderFieldsTooLarge : nil
        close()
        return respond
    }

    mutating func close() {
        phase = .closed
        deadline = nil
    }

    /// No response is being written and only the request at hand (`pending` counted heads) is
    /// unanswered, so an error response of ours cannot interleave with the application's.
    private func nothingAnswered(pending: Int) -> Bool {
        !responseInFlight && unansweredRequests == pending
    }
}
