/// Every failure the client reports: a `Code` to switch on plus context.
public struct PulsarClientError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidConfiguration, invalidServiceURL, connectionFailed, connectionClosed, handshakeFailed
            case authenticationFailed, timeout, serverError, protocolError, lookupFailed, tooManyRedirects
            case producerClosed, producerFenced, topicTerminated, topicNotFound, notAllowed, messageTooLarge
            case clientClosed, invalidMessage, cancelled, tlsConfiguration, consumerClosed
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        public static let invalidConfiguration = Code(.invalidConfiguration)
        public static let invalidServiceURL = Code(.invalidServiceURL)
        /// TCP / TLS connect failed.
        public static let connectionFailed = Code(.connectionFailed)
        /// The connection went away while something was waiting on it.
        public static let connectionClosed = Code(.connectionClosed)
        /// The broker refused CONNECT or the handshake timed out.
        public static let handshakeFailed = Code(.handshakeFailed)
        public static let authenticationFailed = Code(.authenticationFailed)
        /// A request or a send did not complete within its timeout.
        public static let timeout = Code(.timeout)
        /// The broker answered with ERROR / SEND_ERROR; see `serverError`.
        public static let serverError = Code(.serverError)
        /// The broker sent something that violates the protocol (bad frame, unexpected command).
        public static let protocolError = Code(.protocolError)
        public static let lookupFailed = Code(.lookupFailed)
        public static let tooManyRedirects = Code(.tooManyRedirects)
        public static let producerClosed = Code(.producerClosed)
        public static let producerFenced = Code(.producerFenced)
        public static let topicTerminated = Code(.topicTerminated)
        public static let topicNotFound = Code(.topicNotFound)
        public static let notAllowed = Code(.notAllowed)
        public static let messageTooLarge = Code(.messageTooLarge)
        public static let clientClosed = Code(.clientClosed)
        public static let invalidMessage = Code(.invalidMessage)
        public static let cancelled = Code(.cancelled)
        public static let tlsConfiguration = Code(.tlsConfiguration)
        public static let consumerClosed = Code(.consumerClosed)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The broker's error code when the broker reported the failure.
    public var serverError: Pulsar_Proto_ServerError?
    /// Human-readable context (broker message, address, topic...). Never contains secrets.
    public var message: String
    public var underlying: (any Error & Sendable)?

    public init(code: Code, message: String, serverError: Pulsar_Proto_ServerError? = nil, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.serverError = serverError
        self.underlying = underlying
    }

    /// Equal when code, server error and message match (the underlying error is not compared).
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.code == rhs.code && lhs.serverError == rhs.serverError && lhs.message == rhs.message
    }

    public var description: String {
        var text = "PulsarClientError(\(code)"
        if let serverError { text += ", server: \(serverError)" }
        text += "): \(message)"
        if let underlying { text += " [\(underlying)]" }
        return text
    }

    /// Maps a broker ERROR / SEND_ERROR to a client error.
    static func server(_ error: Pulsar_Proto_ServerError, message: String) -> PulsarClientError {
        let code: Code
        switch error {
        case .producerFenced: code = .producerFenced
        case .topicTerminatedError: code = .topicTerminated
        case .topicNotFound: code = .topicNotFound
        case .notAllowedError: code = .notAllowed
        case .authenticationError, .authorizationError: code = .authenticationFailed
        default: code = .serverError
        }
        return PulsarClientError(code: code, message: message, serverError: error)
    }

    static func connectionClosed(_ message: String = "connection closed", underlying: (any Error & Sendable)? = nil) -> PulsarClientError {
        PulsarClientError(code: .connectionClosed, message: message, underlying: underlying)
    }

    static func timeout(_ message: String) -> PulsarClientError {
        PulsarClientError(code: .timeout, message: message)
    }
}
