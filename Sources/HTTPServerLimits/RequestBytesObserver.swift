import NIOCore

/// First handler of the pipeline: tells ``ConnectionLimitsHandler`` that request bytes arrived
/// (the start of a head, for the header timeout) and drops them once the connection is closing.
final class RequestBytesObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let limits: ConnectionLimitsHandler

    init(limits: ConnectionLimitsHandler) {
        self.limits = limits
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard limits.rawBytesReceived() else { return }
        context.fireChannelRead(data)
    }
}

@available(*, unavailable)
extension RequestBytesObserver: Sendable {}
