/// Everything needed to reach a Pulsar cluster.
public struct PulsarClientConfiguration: Sendable {
    /// `pulsar://host:port` or `pulsar+ssl://host:port`.
    public var serviceURL: String
    /// Static token for token authentication (sent as CONNECT auth_data with method "token").
    public var authToken: String?
    /// Called for every CONNECT and AUTH_CHALLENGE instead of `authToken` when set, so rotated
    /// tokens are picked up without restarting.
    public var authTokenProvider: (@Sendable () throws -> String)?
    /// PEM file with the CA certificates to trust for `pulsar+ssl://` (system roots when nil).
    public var tlsTrustCertificatesFile: String?
    /// Check that the broker certificate matches the host name. Keep on outside development.
    public var tlsHostnameVerification: Bool = true
    /// Accept any broker certificate (development only).
    public var tlsAllowInsecureConnection: Bool = false
    /// Timeout for connect + handshake and for each request (lookup, producer creation...).
    public var operationTimeout: Duration = .seconds(30)
    /// Client PING interval; a connection silent for twice this long is closed. `.zero` disables.
    public var keepAliveInterval: Duration = .seconds(30)
    /// Reconnect backoff bounds for producers.
    public var initialBackoff: Duration = .milliseconds(100)
    public var maxBackoff: Duration = .seconds(30)
    /// Maximum LOOKUP redirects before giving up.
    public var maxLookupRedirects: Int = 20

    public init(serviceURL: String) {
        self.serviceURL = serviceURL
    }

    var authentication: PulsarAuthentication? {
        if let authTokenProvider { return .token(authTokenProvider) }
        if let authToken, !authToken.isEmpty { return .token({ authToken }) }
        return nil
    }
}
