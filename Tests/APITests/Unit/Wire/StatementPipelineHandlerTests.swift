import NIOCore
import NIOEmbedded
import Testing
@testable import API

struct StatementPipelineHandlerTests {
    @Test func writesTheStatementAndCompletesItsPromiseFromTheReply() throws {
        let channel = try makeChannel()
        let outcome = channel.eventLoop.makePromise(of: ByteBuffer?.self)
        var bytes = ByteBuffer()
        FrontendMessageEncoder.sync(into: &bytes)
        try channel.writeOutbound(PipelinedStatement(bytes: bytes, outcome: outcome))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == bytes)

        var reply = ByteBuffer()
        BackendBytes.bindComplete(&reply)
        BackendBytes.dataRow([BackendBytes.int8(5)], &reply)
        // Split mid-message: the decoder must wait for the rest.
        try channel.writeInbound(reply.getSlice(at: 0, length: 8)!)
        try channel.writeInbound(reply.getSlice(at: 8, length: reply.readableBytes - 8)!)
        var ready = ByteBuffer()
        BackendBytes.readyForQuery(&ready)
        try channel.writeInbound(ready)
        #expect(try outcome.futureResult.wait() == BackendBytes.int8(5))
        #expect(channel.isActive)
    }

    @Test func aMalformedReplyFailsTheStatementAndClosesTheChannel() throws {
        let channel = try makeChannel()
        let outcome = channel.eventLoop.makePromise(of: ByteBuffer?.self)
        try channel.writeOutbound(PipelinedStatement(bytes: ByteBuffer(), outcome: outcome))
        var garbage = ByteBuffer()
        BackendBytes.message(UInt8(ascii: "?"), &garbage) { _ in }
        _ = try? channel.writeInbound(garbage)  // the handler turns the decoding error into a close
        #expect(throws: WriterConnectionError.self) { try outcome.futureResult.wait() }
        #expect(!channel.isActive)
    }

    @Test func aClosedChannelFailsRunningStatements() throws {
        let channel = try makeChannel()
        let outcome = channel.eventLoop.makePromise(of: ByteBuffer?.self)
        try channel.writeOutbound(PipelinedStatement(bytes: ByteBuffer(), outcome: outcome))
        try channel.close().wait()
        #expect(throws: WriterConnectionError(code: .connectionClosed, context: "the connection closed")) { try outcome.futureResult.wait() }
    }

    private func makeChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(BackendMessageDecoder()))
        try channel.pipeline.syncOperations.addHandler(StatementPipelineHandler())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5432)).wait()
        return channel
    }
}
