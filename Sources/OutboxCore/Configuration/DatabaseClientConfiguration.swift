import NIOSSL
import PostgresNIO

extension OutboxConfiguration.Database {
    /// Connection settings for a PostgresNIO client pool built from this configuration.
    public func postgresClientConfiguration() throws -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(try tlsConfiguration())
        case .require, .verifyCA, .verifyFull: tls = .require(try tlsConfiguration())
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls
        )
        configuration.options.maximumConnections = poolSize
        configuration.options.minimumConnections = 0
        return configuration
    }

    /// swift-nio-ssl settings with libpq's meaning of `ssl_mode` (see ``DatabaseSSLMode``).
    public func tlsConfiguration() throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case .disable, .prefer, .require:
            tls.certificateVerification = .none
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
        case .verifyFull:
            tls.certificateVerification = .fullVerification
        }
        if let sslRootCert, sslMode == .verifyCA || sslMode == .verifyFull {
            tls.trustRoots = .file(sslRootCert)
        }
        switch (sslCert, sslKey) {
        case (let cert?, let key?):
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        case (nil, nil):
            break
        default:
            throw ConfigurationError(code: .missingValue, key: sslCert == nil ? "database.ssl_cert" : "database.ssl_key", reason: "database.ssl_cert and database.ssl_key must be set together")
        }
        return tls
    }

    /// libpq's TLS parameters for a connection string.
    public var libpqTLSParameters: [(key: String, value: String)] {
        var pairs: [(key: String, value: String)] = [("sslmode", sslMode.rawValue)]
        if let sslRootCert { pairs.append(("sslrootcert", sslRootCert)) }
        if let sslCert { pairs.append(("sslcert", sslCert)) }
        if let sslKey { pairs.append(("sslkey", sslKey)) }
        return pairs
    }
}
