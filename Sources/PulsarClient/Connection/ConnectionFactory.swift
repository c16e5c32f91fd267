import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// Opens TCP (+TLS) connections and performs the CONNECT handshake.
struct ConnectionFactory: Sendable {
    let configuration: PulsarClientConfiguration
    let eventLoopGroup: any EventLoopGroup
    let sslContext: NIOSSLContext?
    let logger: Logger

    init(configuration: PulsarClientConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) throws(PulsarClientError) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        let service = try BrokerAddress(url: configuration.serviceURL)
        // Build the TLS context up front so a bad CA file fails at client creation, not at first use.
        if service.useTLS || configuration.tlsTrustCertificatesFile != nil {
            self.sslContext = try Self.makeSSLContext(configuration)
        } else {
            self.sslContext = nil
        }
    }

    static func makeSSLContext(_ configuration: PulsarClientConfiguration) throws(PulsarClientError) -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let file = configuration.tlsTrustCertificatesFile {
            tls.trustRoots = .file(file)
        }
        if configuration.tlsAllowInsecureConnection {
            tls.certificateVerification = .none
        } else if !configuration.tlsHostnameVerification {
            tls.certificateVerification = .noHostnameVerification
        } else {
            tls.certificateVerification = .fullVerification
        }
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw PulsarClientError(code: .tlsConfiguration, message: "cannot build the TLS context (CA file: \(configuration.tlsTrustCertificatesFile ?? "system"))", underlying: error)
        }
    }

    /// Connects to `physical` and handshakes; `logical` differs when going through a proxy.
    func connect(logical: BrokerAddress, physical: BrokerAddress) async throws(PulsarClientError) -> PulsarConnection {
        let eventLoop = eventLoopGroup.next()
        let router = ConnectionRouter(eventLoop: eventLoop)
        let handshake = eventLoop.makePromise(of: ConnectionStateMachine.ConnectedInfo.self)
        let keepAlive = configuration.keepAliveInterval > .zero ? TimeAmount(configuration.keepAliveInterval) : nil
        let handlerConfiguration = PulsarChannelHandler.Configuration(
            authentication: configuration.authentication,
            proxyToBrokerURL: logical == physical ? nil : logical.url,
            handshakeTimeout: TimeAmount(configuration.operationTimeout),
            keepAliveInterval: keepAlive
        )
        let sslContext = physical.useTLS ? self.sslContext : nil
        if physical.useTLS, sslContext == nil {
            throw PulsarClientError(code: .tlsConfiguration, message: "\(physical) needs TLS but no TLS context was configured")
        }
        let logger = self.logger
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(configuration.operationTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        let hostname = physical.host.isIPAddress ? nil : physical.host
                        let tls = try NIOSSLClientHandler(context: sslContext, serverHostname: hostname)
                        try channel.pipeline.syncOperations.addHandler(tls)
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        PulsarChannelHandler(configuration: handlerConfiguration, router: router, handshakePromise: handshake, logger: logger)
                    )
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: physical.host, port: physical.port).get()
        } catch {
            handshake.fail(error)
            throw PulsarClientError(code: .connectionFailed, message: "cannot connect to \(physical)", underlying: error)
        }
        do {
            let info = try await handshake.futureResult.get()
            logger.debug("connected to pulsar broker", metadata: ["broker": "\(logical)", "server": "\(info.serverVersion)"])
            return PulsarConnection(channel: channel, router: router, logicalAddress: logical, physicalAddress: physical, info: info)
        } catch let error as PulsarClientError {
            channel.close(promise: nil)
            throw error
        } catch {
            channel.close(promise: nil)
            throw PulsarClientError(code: .handshakeFailed, message: "handshake with \(physical) failed", underlying: error)
        }
    }
}

extension String {
    var isIPAddress: Bool {
        if self.contains(":") { return true }  // IPv6
        let parts = self.split(separator: ".")
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }
}
