import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Enforces ``HTTPServerLimits`` timeouts and the head size on one connection. Sits after the
/// HTTP codec (it sees request and response parts); ``RequestBytesObserver`` in front of the
/// decoder tells it when raw bytes arrive. The decisions are ``ConnectionDeadlineStateMachine``'s.
///
/// Once it has decided to close, it answers (408, 431 or, for a connection over the cap, 503) if
/// nothing was answered yet, drops the application's further writes, closes the output and
/// discards input until the client closes or the linger timeout passes.
final class ConnectionLimitsHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var machine: ConnectionDeadlineStateMachine
    private let lingerTimeout: TimeAmount
    /// Over the connection cap: answer 503 as soon as the connection is active.
    private let rejecting: Bool
    private let logger: Logger
    private var context: ChannelHandlerContext?
    private var started = false
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?

    init(limits: HTTPServerLimits, rejecting: Bool, logger: Logger) {
        self.machine = ConnectionDeadlineStateMachine(limits: limits, now: .now())
        self.lingerTimeout = TimeAmount(limits.lingerTimeout)
        self.rejecting = rejecting
        self.logger = logger
    }

    /// Whether inbound bytes should still reach the decoder (called by ``RequestBytesObserver``).
    func rawBytesReceived() -> Bool {
        guard !machine.isClosed else { return false }
        machine.bytesReceived(now: .now())
        armTimer()
        return true
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !machine.isClosed else { return }
        switch unwrapInboundIn(data) {
        case .head: machine.requestHeadReceived(now: .now())
        case .body: break
        case .end: machine.requestEndReceived(now: .now())
        }
        armTimer()
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !machine.isClosed else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.kind != .informational: machine.responseHeadSent()
        case .head, .body: break
        case .end:
            machine.responseEndSent(now: .now())
            armTimer()
        }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let parserError = error as? HTTPParserError, parserError == .headerOverflow {
            logger.debug("request head over the limit, closing connection")
            finish(context: context, respond: machine.headerTooLarge())
            return
        }
        context.fireErrorCaught(error)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The client closed its side while we linger: nothing more to wait for.
        if machine.isClosed, let channelEvent = event as? ChannelEvent, channelEvent == .inputClosed {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: - Timer and closing

    private func start(context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        if rejecting {
            logger.debug("connection over the limit, answering 503")
            machine.close()
            finish(context: context, respond: .serviceUnavailable)
        } else {
            armTimer()
        }
    }

    /// Keeps one timer no later than the machine's deadline; a later deadline is picked up when
    /// the pending timer fires (``ConnectionDeadlineStateMachine/TimeoutAction/rearm(_:)``).
    private func armTimer() {
        guard let context, let deadline = machine.deadline else { return }
        if let timerDeadline, timerDeadline <= deadline { return }
        timer?.cancel()
        timerDeadline = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            timerDeadline = nil
            timerFired()
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
        timerDeadline = nil
    }

    private func timerFired() {
        guard let context else { return }
        switch machine.timerFired(now: .now()) {
        case .none: break
        case .rearm: armTimer()
        case .close(let status):
            logger.debug("connection timed out, closing", metadata: ["status": "\(status.map { String($0.code) } ?? "none")"])
            finish(context: context, respond: status)
        }
    }

    /// Answers `status` (if any) with `Connection: close`, then closes the output and lingers.
    private func finish(context: ChannelHandlerContext, respond status: HTTPResponse.Status?) {
        cancelTimer()
        guard let status else {
            context.close(promise: nil)
            return
        }
        var fields: HTTPFields = [.connection: "close", .contentLength: "0"]
        if status == .serviceUnavailable { fields[.retryAfter] = "1" }
        context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.close(mode: .output, promise: nil)
        let loopContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.eventLoop.assumeIsolated().scheduleTask(in: lingerTimeout) {
            loopContext.value.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension ConnectionLimitsHandler: Sendable {}
