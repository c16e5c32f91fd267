import NIOSSL
import OutboxCore

/// Where the create writers connect. Without TLS, libpq opens the connection (every
/// authentication method it supports) and the writer takes over the socket; with TLS,
/// PostgresNIO performs the TLS handshake and authentication on a channel of ours, and the
/// writer then speaks on top of the TLS handler (see ``PipelinedWriterConnection``).
public struct CreateWriterSettings: Sendable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    /// Sent as `-c name=value` start-up options (e.g. `search_path`, `statement_timeout`).
    public var runtimeParameters: [RuntimeParameter]
    public var connectTimeout: Duration
    /// TLS settings (with `database.ssl_mode`'s verification) or nil for a plaintext connection.
    public var tls: TLSConfiguration?
    /// `outbox.retention` 0: each statement also deletes the events it inserted (same transaction).
    var deleteOutboxRowsAfterInsert = false

    public struct RuntimeParameter: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(
        host: String, port: Int, username: String, password: String?, database: String,
        runtimeParameters: [RuntimeParameter] = [], connectTimeout: Duration = .seconds(10),
        tls: TLSConfiguration? = nil
    ) {
        self.tls = tls
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.runtimeParameters = runtimeParameters
        self.connectTimeout = connectTimeout
    }

    /// A libpq connection string; encryption is switched off explicitly (libpq would otherwise
    /// try TLS and GSSAPI first).
    var conninfo: String {
        var pairs: [(key: String, value: String)] = [
            ("host", host), ("port", String(port)), ("user", username), ("dbname", database),
            ("sslmode", "disable"), ("gssencmode", "disable"), ("application_name", "products-api-writer"),
            // libpq's timeout is whole seconds, and it treats values below 2 as 2.
            ("connect_timeout", String(max(2, Int((connectTimeout + .milliseconds(999)).components.seconds)))),
        ]
        if let password { pairs.append(("password", password)) }
        if !runtimeParameters.isEmpty {
            let options = runtimeParameters.map { LibPQConninfo.runtimeOption(name: $0.name, value: $0.value) }
            pairs.append(("options", options.joined(separator: " ")))
        }
        return LibPQConninfo.make(pairs)
    }
}
