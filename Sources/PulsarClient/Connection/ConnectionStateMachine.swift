/// The life of one broker connection, as a pure value: events in, actions out.
///
/// initialized → (channel active) CONNECT sent → (CONNECTED) connected → closing → closed.
/// Keepalive: the handler calls `keepAliveTick()` every keepalive interval; a tick that finds no
/// inbound traffic since the previous tick sends PING, the next silent tick closes the connection
/// (no inbound for two intervals).
struct ConnectionStateMachine {
    struct ConnectedInfo: Equatable, Sendable {
        var serverVersion: String
        var protocolVersion: Int32
        /// From CONNECTED.max_message_size, or the 5 MB default.
        var maxMessageSize: Int
    }

    enum State: Equatable {
        case initialized
        case connectSent
        case connected(ConnectedInfo)
        case closing(PulsarClientError?)
        case closed
    }

    enum Action: Equatable {
        case none
        case sendConnect
        /// Handshake done: raise the frame limit and hand the connection to whoever waits for it.
        case succeedHandshake(ConnectedInfo)
        /// Handshake refused or broken: fail the waiter and close the channel.
        case failHandshakeAndClose(PulsarClientError)
        case sendAuthResponse
        case sendPong
        case sendPing
        /// Route the command to its request, producer or consumer.
        case forward
        case closeConnection(PulsarClientError)
        /// The channel is gone: fail every request, tell every producer and consumer.
        case fireConnectionClosed(PulsarClientError)
    }

    private(set) var state: State = .initialized
    private var inboundSinceLastTick = false
    private var pingOutstanding = false

    var isConnected: Bool {
        if case .connected = state { return true }
        return false
    }

    mutating func channelActive() -> Action {
        guard case .initialized = state else { return .none }
        state = .connectSent
        return .sendConnect
    }

    /// Every inbound frame counts as liveness, whatever it is.
    mutating func frameReceived(_ command: Pulsar_Proto_BaseCommand) -> Action {
        inboundSinceLastTick = true
        switch state {
        case .initialized:
            return self.fail(PulsarClientError(code: .protocolError, message: "\(command.type) received before CONNECT was sent"), handshake: true)
        case .connectSent:
            switch command.type {
            case .connected:
                guard command.hasConnected else {
                    return self.fail(PulsarClientError(code: .protocolError, message: "CONNECTED without body"), handshake: true)
                }
                let connected = command.connected
                let maxSize = connected.hasMaxMessageSize && connected.maxMessageSize > 0
                    ? Int(connected.maxMessageSize) : PulsarFrameConstants.defaultMaxMessageSize
                let info = ConnectedInfo(serverVersion: connected.serverVersion, protocolVersion: connected.protocolVersion, maxMessageSize: maxSize)
                state = .connected(info)
                return .succeedHandshake(info)
            case .error:
                let error = command.error
                var clientError = PulsarClientError.server(error.error, message: "broker refused CONNECT: \(error.message)")
                if clientError.code == .serverError { clientError.code = .handshakeFailed }
                return self.fail(clientError, handshake: true)
            case .authChallenge:
                return .sendAuthResponse
            case .ping:
                return .sendPong
            default:
                return self.fail(PulsarClientError(code: .protocolError, message: "\(command.type) received during the handshake"), handshake: true)
            }
        case .connected:
            switch command.type {
            case .ping: return .sendPong
            case .pong: pingOutstanding = false; return .none
            case .authChallenge: return .sendAuthResponse
            case .connected, .connect:
                return self.fail(PulsarClientError(code: .protocolError, message: "unexpected \(command.type) on an established connection"), handshake: false)
            default: return .forward
            }
        case .closing, .closed:
            return .none
        }
    }

    mutating func keepAliveTick() -> Action {
        guard case .connected = state else { return .none }
        if inboundSinceLastTick {
            inboundSinceLastTick = false
            pingOutstanding = true
            return .sendPing
        }
        if pingOutstanding {
            return self.fail(.timeout("no data from the broker for two keepalive intervals"), handshake: false)
        }
        pingOutstanding = true
        return .sendPing
    }

    mutating func handshakeTimedOut() -> Action {
        guard case .connectSent = state else { return .none }
        return self.fail(PulsarClientError(code: .handshakeFailed, message: "no CONNECTED within the operation timeout"), handshake: true)
    }

    mutating func frameDecodingFailed(_ error: PulsarFrameError) -> Action {
        let clientError = PulsarClientError(code: .protocolError, message: "undecodable frame: \(error.detail)", underlying: error)
        if case .connectSent = state { return self.fail(clientError, handshake: true) }
        return self.fail(clientError, handshake: false)
    }

    /// A user of the connection asks to close it (e.g. a producer forcing a resend).
    mutating func closeRequested(_ error: PulsarClientError?) -> Action {
        switch state {
        case .closing, .closed: return .none
        case .initialized, .connectSent:
            return self.fail(error ?? .connectionClosed("closed before the handshake finished"), handshake: true)
        case .connected:
            state = .closing(error)
            return .closeConnection(error ?? .connectionClosed())
        }
    }

    mutating func channelInactive() -> Action {
        let error: PulsarClientError
        switch state {
        case .closed: return .none
        case .closing(let reason): error = reason ?? .connectionClosed()
        case .initialized, .connectSent: error = .connectionClosed("connection closed during the handshake")
        case .connected: error = .connectionClosed("connection closed by the broker or the network")
        }
        state = .closed
        return .fireConnectionClosed(error)
    }

    private mutating func fail(_ error: PulsarClientError, handshake: Bool) -> Action {
        state = .closing(error)
        return handshake ? .failHandshakeAndClose(error) : .closeConnection(error)
    }
}
