import OutboxCore

/// Where and how to open the logical replication connection.
public struct ReplicationConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    /// libpq `sslmode`: "disable", "prefer", "require", "verify-ca" or "verify-full".
    public var sslMode: String
    /// libpq `sslrootcert`, `sslcert`, `sslkey` (PEM files), when set.
    public var sslRootCert: String? = nil
    public var sslCert: String? = nil
    public var sslKey: String? = nil
    public var slotName: String
    public var publicationName: String
    /// pgoutput `proto_version`: 1 or 2 (this client never asks for streaming).
    public var protocolVersion: Int
    /// pgoutput `binary`: columns in their binary send format.
    public var binary: Bool
    /// pgoutput `messages`: also stream `pg_logical_emit_message` messages.
    public var messages: Bool
    public var applicationName: String
    /// Seconds libpq may spend connecting (libpq `connect_timeout`).
    public var connectTimeoutSeconds: Int
    /// Upper bound for one command (IDENTIFY_SYSTEM, START_REPLICATION, bootstrap SQL).
    public var commandTimeoutSeconds: Double

    public init(
        host: String,
        port: Int = 5432,
        user: String,
        password: String? = nil,
        database: String,
        sslMode: String = "prefer",
        slotName: String,
        publicationName: String,
        protocolVersion: Int = 1,
        binary: Bool = false,
        messages: Bool = false,
        applicationName: String = "cdc-relay",
        connectTimeoutSeconds: Int = 10,
        commandTimeoutSeconds: Double = 30
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.sslMode = sslMode
        self.slotName = slotName
        self.publicationName = publicationName
        self.protocolVersion = protocolVersion
        self.binary = binary
        self.messages = messages
        self.applicationName = applicationName
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.commandTimeoutSeconds = commandTimeoutSeconds
    }

    /// The libpq connection string for a logical (`replication=database`) walsender connection.
    /// Every value is single-quoted with `\` and `'` escaped, so any host, user, password or
    /// database name is passed through unchanged. Contains the password: never log it.
    public var connectionString: String {
        var pairs: [(key: String, value: String)] = [
            ("host", host),
            ("port", String(port)),
            ("user", user),
            ("dbname", database),
            ("sslmode", sslMode),
            ("application_name", applicationName),
            ("connect_timeout", String(connectTimeoutSeconds)),
            ("replication", "database"),
            // Fixed text formats for the walsender session, whatever the server defaults are;
            // no NOTICEs (libpq would print them to stderr).
            ("options", "-c datestyle=ISO -c timezone=UTC -c extra_float_digits=3 -c client_min_messages=warning"),
        ]
        if let password {
            pairs.insert(("password", password), at: 3)
        }
        if let sslRootCert { pairs.append(("sslrootcert", sslRootCert)) }
        if let sslCert { pairs.append(("sslcert", sslCert)) }
        if let sslKey { pairs.append(("sslkey", sslKey)) }
        return LibPQConninfo.make(pairs)
    }

    /// `START_REPLICATION SLOT … LOGICAL …` for this configuration.
    public func startReplicationCommand(from lsn: LSN) -> String {
        var options = [
            "proto_version \(Self.quoteLiteral(String(protocolVersion)))",
            "publication_names \(Self.quoteLiteral(Self.quoteIdentifier(publicationName)))",
        ]
        if binary { options.append("binary 'true'") }
        if messages { options.append("messages 'true'") }
        return "START_REPLICATION SLOT \(Self.quoteIdentifier(slotName)) LOGICAL \(lsn) (\(options.joined(separator: ", ")))"
    }

    /// A SQL identifier in double quotes (embedded quotes doubled).
    public static func quoteIdentifier(_ name: String) -> String {
        quote(name, with: "\"")
    }

    /// A SQL string literal (standard_conforming_strings: only quotes are doubled).
    public static func quoteLiteral(_ value: String) -> String {
        quote(value, with: "'")
    }

    /// Wraps `value` in `mark` and doubles every `mark` inside.
    private static func quote(_ value: String, with mark: Character) -> String {
        var quoted = String(mark)
        for character in value {
            if character == mark { quoted.append(mark) }
            quoted.append(character)
        }
        quoted.append(mark)
        return quoted
    }
}
