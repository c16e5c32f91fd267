import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

extension OutboxConfiguration.Database {
    /// With `require`, `verify-ca` or `verify-full`: one connection at start. A server whose
    /// certificate the mode rejects (untrusted CA, wrong host name) or that offers no TLS is a
    /// configuration error, one line naming `database.ssl_mode`; an unreachable server is not
    /// (the daemons wait for it).
    public func checkTLSAtStart(logger: Logger) async throws(ConfigurationError) {
        guard sslMode.requiresEncryption else { return }
        let configuration: PostgresConnection.Configuration
        do {
            var connection = PostgresConnection.Configuration(
                host: host, port: port, username: username, password: password, database: database,
                tls: .require(try NIOSSLContext(configuration: try tlsConfiguration())))
            connection.options.connectTimeout = .seconds(5)
            configuration = connection
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError(code: .invalidValue, key: "database.ssl_root_cert", reason: "the TLS files cannot be used: \(error)")
        }
        do {
            let connection = try await PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: 0, logger: logger)
            try? await connection.close()
        } catch {
            guard let reason = Self.tlsRefusal(error) else { return }
            throw ConfigurationError(
                code: .invalidValue, key: "database.ssl_mode",
                reason: "\(sslMode.rawValue) refused the server \(host):\(port): \(reason)")
        }
    }

    /// Why a failed connect is the TLS settings' doing, or nil when it is not (server away).
    static func tlsRefusal(_ error: any Error) -> String? {
        switch error {
        case let error as NIOSSLExtraError:
            return "its certificate does not match the host name (\(error))"
        case let error as NIOSSLError:
            return "its certificate is not trusted by database.ssl_root_cert or the system's roots (\(error))"
        case let error as PSQLError:
            if error.code == .sslUnsupported { return "the server does not offer TLS" }
            return error.underlying.flatMap(tlsRefusal)
        default:
            return nil
        }
    }
}
