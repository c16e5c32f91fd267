import Logging
import NIOCore

/// Translates between the channel and `ConnectionStateMachine`: decodes frames, feeds the machine,
/// runs its actions. Producers and consumers write pre-encoded frames straight into the channel;
/// this handler only sees inbound bytes.
final class PulsarChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Configuration: Sendable {
        var authentication: PulsarAuthentication?
        /// Set when connecting through a proxy: the logical broker the proxy must forward to.
        var proxyToBrokerURL: String?
        var handshakeTimeout: TimeAmount
        var keepAliveInterval: TimeAmount?
    }

    private var state = ConnectionStateMachine()
    private var decoder = PulsarFrameDecoder()
    private var cumulation: ByteBuffer?
    private let configuration: Configuration
    private let router: ConnectionRouter
    private let handshakePromise: EventLoopPromise<ConnectionStateMachine.ConnectedInfo>
    private var handshakeTimeout: Scheduled<Void>?
    private var keepAlive: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    private let logger: Logger

    init(
        configuration: Configuration,
        router: ConnectionRouter,
        handshakePromise: EventLoopPromise<ConnectionStateMachine.ConnectedInfo>,
        logger: Logger
    ) {
        self.configuration = configuration
        self.router = router
        self.handshakePromise = handshakePromise
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive {
            self.run(state.channelActive(), context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.stopTimers()
    }

    func channelActive(context: ChannelHandlerContext) {
        self.run(state.channelActive(), context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.run(state.channelInactive(), context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("pulsar connection error", metadata: ["error": "\(error)"])
        let clientError = (error as? PulsarClientError)
            ?? PulsarClientError(code: .connectionClosed, message: "connection error: \(error)", underlying: error)
        self.run(state.closeRequested(clientError), context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let request = event as? CloseRequest {
            self.run(state.closeRequested(request.error), context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// Sent through the pipeline by `PulsarConnection.close(error:)`.
    struct CloseRequest: Sendable {
        var error: PulsarClientError?
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = self.unwrapInboundIn(data)
        if var pending = self.cumulation {
            self.cumulation = nil
            pending.writeBuffer(&buffer)
            buffer = pending
        }
        do {
            while let frame = try decoder.decode(buffer: &buffer) {
                self.run(state.frameReceived(frame.command), frame: frame, context: context)
                guard self.context != nil, !state.isClosingOrClosed else { return }
            }
        } catch let error as PulsarFrameError {
            self.run(state.frameDecodingFailed(error), context: context)
            return
        } catch {
            self.run(state.frameDecodingFailed(PulsarFrameError(code: .garbage, detail: "\(error)")), context: context)
            return
        }
        if buffer.readableBytes > 0 {
            // Keep the partial frame; compact so the cumulation does not grow without bound.
            if buffer.readerIndex > 0 { buffer.discardReadBytes() }
            self.cumulation = buffer
        }
    }

    private func run(_ action: ConnectionStateMachine.Action, frame: PulsarFrame? = nil, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .sendConnect:
            var authMethod: String?
            var authData: [UInt8]?
            do {
                if let authentication = configuration.authentication {
                    authMethod = authentication.methodName
                    authData = try authentication.authData()
                }
            } catch {
                self.run(state.closeRequested(PulsarClientError(code: .authenticationFailed, message: "token provider failed", underlying: error)), context: context)
                return
            }
            let connect = PulsarCommands.connect(authMethodName: authMethod, authData: authData, proxyToBrokerURL: configuration.proxyToBrokerURL)
            self.write(connect, context: context)
            let timeout = configuration.handshakeTimeout
            handshakeTimeout = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
                guard let self, let context = self.context else { return }
                self.run(self.state.handshakeTimedOut(), context: context)
            }
        case .succeedHandshake(let info):
            handshakeTimeout?.cancel()
            handshakeTimeout = nil
            decoder.setMaxMessageSize(info.maxMessageSize)
            scheduleKeepAlive(context: context)
            handshakePromise.succeed(info)
        case .failHandshakeAndClose(let error):
            stopTimers()
            handshakePromise.fail(error)
            context.close(promise: nil)
        case .sendAuthResponse:
            guard let authentication = configuration.authentication else {
                // No credentials configured: answer with empty data so the broker decides.
                self.write(PulsarCommands.authResponse(authMethodName: "none", authData: []), context: context)
                return
            }
            do {
                let data = try authentication.authData()
                self.write(PulsarCommands.authResponse(authMethodName: authentication.methodName, authData: data), context: context)
            } catch {
                logger.warning("token provider failed during AUTH_CHALLENGE", metadata: ["error": "\(error)"])
                self.run(state.closeRequested(PulsarClientError(code: .authenticationFailed, message: "token provider failed", underlying: error)), context: context)
            }
        case .sendPong:
            self.write(PulsarCommands.pong(), context: context)
        case .sendPing:
            self.write(PulsarCommands.ping(), context: context)
        case .forward:
            guard let frame else { return }
            if let error = router.route(frame) {
                self.run(state.closeRequested(error), context: context)
            }
        case .closeConnection(let error):
            logger.debug("closing pulsar connection", metadata: ["reason": "\(error)"])
            stopTimers()
            context.close(promise: nil)
        case .fireConnectionClosed(let error):
            stopTimers()
            handshakePromise.fail(error)  // no-op when the handshake already succeeded
            router.close(error)
        }
    }

    private func write(_ command: Pulsar_Proto_BaseCommand, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 64)
        do {
            try PulsarFrameEncoder.writeCommand(command, into: &buffer)
        } catch {
            logger.error("cannot encode \(command.type)", metadata: ["error": "\(error)"])
            return
        }
        context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
    }

    /// One tick per keepalive interval, rescheduled by itself while the connection lives.
    private func scheduleKeepAlive(context: ChannelHandlerContext) {
        guard let interval = configuration.keepAliveInterval, interval.nanoseconds > 0 else { return }
        keepAlive = context.eventLoop.assumeIsolated().scheduleTask(in: interval) { [weak self] in
            guard let self, let context = self.context else { return }
            self.run(self.state.keepAliveTick(), context: context)
            if self.state.isConnected { self.scheduleKeepAlive(context: context) }
        }
    }

    private func stopTimers() {
        handshakeTimeout?.cancel()
        handshakeTimeout = nil
        keepAlive?.cancel()
        keepAlive = nil
    }
}

extension ConnectionStateMachine {
    var isClosingOrClosed: Bool {
        switch state {
        case .closing, .closed: return true
        default: return false
        }
    }
}
