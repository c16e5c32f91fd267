import NIOSSL
import PostgresNIO

extension OutboxConfiguration.Database {
    /// Connection settings for a PostgresNIO client pool built from this configuration.
    public func postgresClientConfiguration() throws -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(.makeClientConfiguration())
        case .require: tls = .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls
        )
        configuration.options.maximumConnections = poolSize
        configuration.options.minimumConnections = 0
        return configuration
    }
}
