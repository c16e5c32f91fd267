/// Where the create writers connect. Authentication is libpq's (every method it supports); the
/// connection must be unencrypted, because after start-up the writer speaks the protocol on the
/// socket itself (see ``PipelinedWriterConnection``). With TLS configured, run without writers.
public struct CreateWriterSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    /// Sent as `-c name=value` start-up options (e.g. `search_path`, `statement_timeout`).
    public var runtimeParameters: [RuntimeParameter]
    public var connectTimeout: Duration

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
        runtimeParameters: [RuntimeParameter] = [], connectTimeout: Duration = .seconds(10)
    ) {
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
        var pairs: [(String, String)] = [
            ("host", host), ("port", String(port)), ("user", username), ("dbname", database),
            ("sslmode", "disable"), ("gssencmode", "disable"), ("application_name", "products-api-writer"),
            // libpq's timeout is whole seconds, and it treats values below 2 as 2.
            ("connect_timeout", String(max(2, Int((connectTimeout + .milliseconds(999)).components.seconds)))),
        ]
        if let password { pairs.append(("password", password)) }
        if !runtimeParameters.isEmpty {
            // Inside `options`, spaces and backslashes of a value are escaped with a backslash.
            let options = runtimeParameters.map { parameter in
                "-c " + Self.escapeOption("\(parameter.name)=\(parameter.value)")
            }
            pairs.append(("options", options.joined(separator: " ")))
        }
        return pairs.map { "\($0.0)=\(Self.quote($0.1))" }.joined(separator: " ")
    }

    private static func escapeOption(_ value: String) -> String {
        var escaped = ""
        for character in value {
            if character == " " || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    /// A conninfo value in single quotes, with backslash and quote backslash-escaped.
    private static func quote(_ value: String) -> String {
        var quoted = "'"
        for character in value {
            if character == "'" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted + "'"
    }
}
