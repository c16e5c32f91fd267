import HummingbirdCore
import Logging
import NIOCore

/// Hummingbird's HTTP/1 child channel with ``HTTPServerLimits`` enforced: the connection cap when
/// a connection is set up, the timeouts and the head size by handlers added to its pipeline.
struct LimitedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let inner: HTTP1Channel
    let limits: HTTPServerLimits
    let connections: ConnectionCounter

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let admitted = connections.tryOpen()
        if admitted {
            let connections = self.connections
            channel.closeFuture.whenComplete { _ in connections.closed() }
        }
        let limits = self.limits
        let eventLoop = channel.eventLoop
        return eventLoop.makeCompletedFuture { () throws -> NIOLoopBound<ConnectionLimitsHandler> in
            let handler = ConnectionLimitsHandler(limits: limits, rejecting: !admitted, logger: logger)
            try channel.pipeline.syncOperations.addHandler(RequestBytesObserver(limits: handler), position: .first)
            return NIOLoopBound(handler, eventLoop: eventLoop)
        }.flatMap { handler in
            inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
                // After the codec, before Hummingbird's connection state handler and the async channel.
                let operations = channel.pipeline.syncOperations
                let stateHandler = try operations.handler(type: HTTPConnectionStateHandler.self)
                try operations.addHandler(handler.value, position: .before(stateHandler))
                return value
            }
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 with ``HTTPServerLimits``; the connection count is per built server.
    public static func http1(limits: HTTPServerLimits) -> HTTPServerBuilder {
        let connections = ConnectionCounter(limit: limits.maxConnections)
        let decoder = HTTP1Channel.Configuration.DecoderConfiguration(
            maxHeaderFieldSize: limits.maxHeaderBytes, maxHeaderListSize: limits.maxHeaderBytes
        )
        // Idle connections are closed by our own handler (the idle timeout of `limits`).
        let configuration = HTTP1Channel.Configuration(idleTimeout: nil, httpDecoderConfiguration: decoder)
        return HTTPServerBuilder { responder in
            LimitedHTTP1Channel(
                inner: HTTP1Channel(responder: responder, configuration: configuration),
                limits: limits, connections: connections
            )
        }
    }
}
