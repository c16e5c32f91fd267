import CLibPQ
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A create writer's Postgres connection. libpq opens it (so every authentication method libpq
/// knows works); once the server is ready, NIO takes over a duplicate of the socket and the
/// writer speaks the extended query protocol itself: one prepared statement, then Bind + Execute
/// + Sync per batch, with no per-statement bookkeeping beyond a promise. Statements may be
/// pipelined; each finishes in order.
///
/// libpq's own handle stays open, untouched, until the channel closes: finishing it earlier would
/// send Terminate on the shared socket. With TLS the start-up is PostgresNIO's instead (see
/// ``WriterChannelOpener``); the statements, their encoding and the state machine are the same.
final class PipelinedWriterConnection: Sendable {
    private let channel: any Channel
    /// What opened the connection (libpq's handle, or PostgresNIO's), kept as long as the channel.
    private let opener: any Sendable
    /// Where statements enter the pipeline when it is not the channel's tail (TLS).
    private let entry: NIOLoopBound<ChannelHandlerContext>?

    private init(channel: any Channel, opener: any Sendable, entry: NIOLoopBound<ChannelHandlerContext>? = nil) {
        self.channel = channel
        self.opener = opener
        self.entry = entry
    }

    var eventLoop: any EventLoop { channel.eventLoop }
    var isClosed: Bool { !channel.isActive }

    /// Connects (libpq's blocking connect runs on NIO's thread pool) and prepares `statement`.
    static func connect(
        _ settings: CreateWriterSettings, on eventLoop: any EventLoop,
        prepare statements: [(name: String, sql: String, parameterTypes: [FrontendMessageEncoder.ArrayType])]
    ) async throws -> PipelinedWriterConnection {
        let connection: PipelinedWriterConnection
        if let tls = settings.tls {
            let opened = try await WriterChannelOpener.openTLS(settings, tls: tls, on: eventLoop)
            connection = PipelinedWriterConnection(channel: opened.channel, opener: opened.handshake, entry: opened.entry)
        } else {
            connection = try await adoptLibPQSocket(settings, on: eventLoop)
        }
        do {
            for statement in statements {
                var parse = connection.allocator.buffer(capacity: statement.sql.utf8.count + 64)
                FrontendMessageEncoder.parseAndSync(statementName: statement.name, sql: statement.sql, parameterTypes: statement.parameterTypes, into: &parse)
                _ = try await connection.run(parse)
            }
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    /// libpq connects (its blocking connect runs on NIO's thread pool), then NIO adopts a
    /// duplicate of the socket.
    private static func adoptLibPQSocket(_ settings: CreateWriterSettings, on eventLoop: any EventLoop) async throws -> PipelinedWriterConnection {
        let conninfo = settings.conninfo
        let session = try await NIOThreadPool.singleton.runIfActive { try LibPQSession.connect(conninfo) }
        let descriptor = dup(session.socket)
        guard descriptor >= 0 else {
            throw WriterConnectionError(code: .connectFailed, context: "dup of the libpq socket failed (errno \(errno))")
        }
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(BackendMessageDecoder()))
                        try channel.pipeline.syncOperations.addHandler(StatementPipelineHandler())
                    }
                }
                .withConnectedSocket(descriptor).get()
        } catch {
            Glibc.close(descriptor)
            throw WriterConnectionError(code: .connectFailed, context: "adopting the socket: \(error)")
        }
        channel.closeFuture.whenComplete { _ in session.finish() }
        return PipelinedWriterConnection(channel: channel, opener: session)
    }

    /// Sends one statement's messages (ending with Sync); the future holds the first column of
    /// its first row. It fails with ``PostgresServerError`` if the server rejected the statement
    /// (the connection stays usable) or with ``WriterConnectionError`` (or a channel error) if the
    /// connection failed.
    func send(_ messages: ByteBuffer) -> EventLoopFuture<ByteBuffer?> {
        let outcome = channel.eventLoop.makePromise(of: ByteBuffer?.self)
        let statement = PipelinedStatement(bytes: messages, outcome: outcome)
        guard let entry else {
            // A channel closed before the handler saw the write fails only the write's promise.
            channel.writeAndFlush(statement).whenFailure { outcome.fail($0) }
            return outcome.futureResult
        }
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { outcome.fail($0) }
        if channel.eventLoop.inEventLoop {
            entry.value.writeAndFlush(NIOAny(statement), promise: written)
        } else {
            channel.eventLoop.execute { entry.value.writeAndFlush(NIOAny(statement), promise: written) }
        }
        return outcome.futureResult
    }

    func run(_ messages: ByteBuffer) async throws -> ByteBuffer? {
        try await send(messages).get()
    }

    var allocator: ByteBufferAllocator { channel.allocator }

    /// Starts closing; running statements fail with "connection closed".
    func close() {
        channel.close(promise: nil)
    }
}

/// libpq's handle of the connection, finished (Terminate, then its copy of the socket closed)
/// once the adopted channel has closed, or when dropped unused.
private final class LibPQSession: @unchecked Sendable {
    // Never used after connecting except by `finish`, which runs PQfinish exactly once.
    private let connection: OpaquePointer
    private let finished = Atomic<Bool>(false)
    let socket: Int32

    private init(connection: OpaquePointer) {
        self.connection = connection
        self.socket = PQsocket(connection)
    }

    deinit {
        finish()
    }

    /// Closes libpq's side; the server sees the connection end only after this (the channel's
    /// descriptor is a duplicate). Safe to call more than once.
    func finish() {
        guard !finished.exchange(true, ordering: .acquiringAndReleasing) else { return }
        PQfinish(connection)
    }

    static func connect(_ conninfo: String) throws -> LibPQSession {
        guard let raw = PQconnectdb(conninfo) else {
            throw WriterConnectionError(code: .connectFailed, context: "libpq could not allocate a connection")
        }
        let session = LibPQSession(connection: raw)
        guard PQstatus(raw) == CONNECTION_OK else {
            let message = PQerrorMessage(raw).map { String(cString: $0) } ?? "unknown libpq error"
            throw WriterConnectionError(code: .connectFailed, context: String(message.reversed().drop(while: \.isWhitespace).reversed()))
        }
        guard PQsslInUse(raw) == 0, PQgssEncInUse(raw) == 0 else {
            throw WriterConnectionError(code: .encryptedConnection, context: "the writer needs an unencrypted connection")
        }
        return session
    }
}
