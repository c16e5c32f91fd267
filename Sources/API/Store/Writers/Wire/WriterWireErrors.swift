/// An ErrorResponse from the server: the statement failed and its transaction rolled back, but
/// the connection is still usable.
struct PostgresServerError: Error, Equatable, CustomStringConvertible {
    /// SQLSTATE, e.g. `23505` (unique violation) or `57014` (statement timeout).
    var sqlState: String
    var severity: String
    var message: String

    var description: String { "\(severity) \(sqlState): \(message)" }
}

/// The create writer's connection failed or the server sent something the protocol does not
/// allow; the connection is closed and every statement on it fails with this.
struct WriterConnectionError: Error, Equatable, CustomStringConvertible {
    enum Code: String, Sendable {
        /// libpq could not connect or authenticate.
        case connectFailed = "connect_failed"
        /// The connection would be encrypted (TLS or GSSAPI): only plain sockets can be taken over.
        case encryptedConnection = "encrypted_connection"
        /// A backend message was truncated, too long or unknown.
        case malformedMessage = "malformed_message"
        /// A well-formed message that makes no sense here (say, a row while nothing is running).
        case unexpectedMessage = "unexpected_message"
        case connectionClosed = "connection_closed"
    }

    var code: Code
    var context: String

    var description: String { "create writer connection: \(code.rawValue): \(context)" }
}
