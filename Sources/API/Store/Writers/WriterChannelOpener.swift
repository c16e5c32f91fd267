import Logging
import NIOCore
import NIOPosix
import NIOSSL
import OutboxCore
import PostgresNIO

/// Opens a create writer's encrypted channel: PostgresNIO negotiates TLS and authenticates
/// (SCRAM, MD5, password, certificate) on a channel we connected, then the writer's decoder and
/// handler are put right behind the TLS handler, so every byte after start-up is the writer's.
/// PostgresNIO's handlers stay in the pipeline, idle: nothing reaches them any more, and the
/// writer's writes enter at ``WriterEntryHandler`` in front of them.
enum WriterChannelOpener {
    struct Opened {
        let channel: any Channel
        /// Keeps PostgresNIO's side of the start-up alive as long as the channel.
        let handshake: PostgresConnection
        /// Where the writer's statements enter the pipeline.
        let entry: NIOLoopBound<ChannelHandlerContext>
    }

    static func openTLS(_ settings: CreateWriterSettings, tls: TLSConfiguration, on eventLoop: any EventLoop) async throws -> Opened {
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(.milliseconds(settings.connectTimeout.positiveMilliseconds))
                .connect(host: settings.host, port: settings.port).get()
        } catch {
            throw WriterConnectionError(code: .connectFailed, context: "connecting to \(settings.host):\(settings.port): \(error)")
        }
        do {
            var configuration = PostgresConnection.Configuration(
                establishedChannel: channel, tls: .require(try NIOSSLContext(configuration: tls)),
                username: settings.username, password: settings.password, database: settings.database)
            // An IP address is no TLS server name; NIOSSL then checks the certificate's IP entries.
            let isIPAddress = (try? SocketAddress(ipAddress: settings.host, port: settings.port)) != nil
            configuration.options.tlsServerName = isIPAddress ? nil : settings.host
            configuration.options.additionalStartupParameters =
                [("application_name", "products-api-writer")] + settings.runtimeParameters.map { ($0.name, $0.value) }
            var logger = Logger(label: "products-api-writer")
            logger.logLevel = .critical
            let connection = try await PostgresConnection.connect(on: eventLoop, configuration: configuration, id: 0, logger: logger)
            // PostgresNIO expects its connection to be closed before it goes away: keep it until then.
            channel.closeFuture.whenComplete { _ in withExtendedLifetime(connection) {} }
            let entry = try await eventLoop.submit {
                let pipeline = channel.pipeline.syncOperations
                let tlsHandler = try pipeline.handler(type: NIOSSLClientHandler.self)
                let handler = StatementPipelineHandler()
                let entryHandler = WriterEntryHandler()
                try pipeline.addHandler(ByteToMessageHandler(BackendMessageDecoder()), position: .after(tlsHandler))
                try pipeline.addHandler(handler, position: .after(try pipeline.handler(type: ByteToMessageHandler<BackendMessageDecoder>.self)))
                try pipeline.addHandler(entryHandler, position: .after(handler))
                return NIOLoopBound(try pipeline.context(handler: entryHandler), eventLoop: eventLoop)
            }.get()
            return Opened(channel: channel, handshake: connection, entry: entry)
        } catch let error as WriterConnectionError {
            channel.close(promise: nil)
            throw error
        } catch {
            channel.close(promise: nil)
            throw WriterConnectionError(code: .connectFailed, context: "TLS start-up: \(String(reflecting: error))")
        }
    }
}

/// The writer's entry into a pipeline that also holds PostgresNIO's (idle) handlers: writes go
/// from here towards the socket through the writer's handler; inbound events stop here.
final class WriterEntryHandler: ChannelDuplexHandler {
    typealias InboundIn = Never
    typealias OutboundIn = PipelinedStatement
    typealias OutboundOut = PipelinedStatement

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
