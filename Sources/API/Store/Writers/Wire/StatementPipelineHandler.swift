import NIOCore

/// A statement for ``StatementPipelineHandler``: its encoded messages (ending with Sync) and the
/// promise its outcome completes (the first column of its first row, nil without rows).
struct PipelinedStatement {
    var bytes: ByteBuffer
    var outcome: EventLoopPromise<ByteBuffer?>
}

/// Runs ``StatementPipelineStateMachine`` on a channel whose inbound side is already split into
/// ``BackendMessage``s: it only translates channel events into machine calls and carries out the
/// actions.
final class StatementPipelineHandler: ChannelDuplexHandler {
    typealias InboundIn = BackendMessage
    typealias OutboundIn = PipelinedStatement
    typealias OutboundOut = ByteBuffer

    private var machine = StatementPipelineStateMachine<EventLoopPromise<ByteBuffer?>>()

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let statement = unwrapOutboundIn(data)
        guard machine.statementSent(statement.outcome) else {
            let error = WriterConnectionError(code: .connectionClosed, context: "statement sent after the connection closed")
            statement.outcome.fail(error)
            promise?.fail(error)
            return
        }
        context.write(wrapOutboundOut(statement.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        run(machine.received(unwrapInboundIn(data)), context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let failure = error as? WriterConnectionError ?? WriterConnectionError(code: .connectionClosed, context: String(describing: error))
        run(machine.closed(failure), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        run(machine.closed(WriterConnectionError(code: .connectionClosed, context: "the connection closed")), context: context)
        context.fireChannelInactive()
    }

    private func run(_ action: StatementPipelineStateMachine<EventLoopPromise<ByteBuffer?>>.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .finish(let promise, .success(let value)):
            promise.succeed(value)
        case .finish(let promise, .failure(let error)):
            promise.fail(error)
        case .closeAndFail(let promises, let error):
            for promise in promises { promise.fail(error) }
            context.close(promise: nil)
        }
    }
}
