/// Bounds on what one client may hold of an HTTP server: how long it may take to send a request
/// head or body, how long a kept-alive connection may sit idle, how many connections may be open
/// at once and how large a request head may be.
public struct HTTPServerLimits: Sendable, Equatable {
    /// From the first byte of a request (or from accepting the connection) until its head is read.
    public var headerTimeout: Duration
    /// From the end of the head until the end of the body.
    public var bodyTimeout: Duration
    /// A kept-alive connection with no request in progress.
    public var idleTimeout: Duration
    /// Open connections of this server; over it a new connection is answered 503 and closed.
    public var maxConnections: Int
    /// Request line plus header fields, in bytes; over it the request is answered 431.
    public var maxHeaderBytes: Int
    /// After an error response (408, 431, 503) the server stops reading and waits this long for the
    /// client to close, so the response is not lost to a reset caused by unread request bytes.
    public var lingerTimeout: Duration

    public init(
        headerTimeout: Duration = .seconds(10),
        bodyTimeout: Duration = .seconds(30),
        idleTimeout: Duration = .seconds(60),
        maxConnections: Int = 1024,
        maxHeaderBytes: Int = 16 * 1024,
        lingerTimeout: Duration = .seconds(2)
    ) {
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.maxHeaderBytes = maxHeaderBytes
        self.lingerTimeout = lingerTimeout
    }

    /// The relay's metrics and health server: a scraper and a probe, so fewer connections and
    /// smaller heads than the API; requests there have no body.
    public static let observability = HTTPServerLimits(
        headerTimeout: .seconds(10), bodyTimeout: .seconds(10), idleTimeout: .seconds(60),
        maxConnections: 64, maxHeaderBytes: 8 * 1024
    )
}
