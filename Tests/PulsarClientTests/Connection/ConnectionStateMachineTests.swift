import Testing
@testable import PulsarClient

@Suite struct ConnectionStateMachineTests {
    func connectedMachine() -> ConnectionStateMachine {
        var machine = ConnectionStateMachine()
        _ = machine.channelActive()
        _ = machine.frameReceived(FrameFixtures.connected())
        return machine
    }

    @Test func handshakeSucceeds() {
        var machine = ConnectionStateMachine()
        #expect(machine.channelActive() == .sendConnect)
        #expect(machine.channelActive() == .none)
        let action = machine.frameReceived(FrameFixtures.connected())
        #expect(action == .succeedHandshake(.init(serverVersion: "fake-broker", protocolVersion: 20, maxMessageSize: 5 * 1024 * 1024)))
        #expect(machine.isConnected)
    }

    @Test func handshakeTakesBrokerMaxMessageSize() {
        var machine = ConnectionStateMachine()
        _ = machine.channelActive()
        let action = machine.frameReceived(FrameFixtures.connected(maxMessageSize: 1_000_000))
        #expect(action == .succeedHandshake(.init(serverVersion: "fake-broker", protocolVersion: 20, maxMessageSize: 1_000_000)))
    }

    @Test func handshakeRefusedWithAuthenticationError() {
        var machine = ConnectionStateMachine()
        _ = machine.channelActive()
        let action = machine.frameReceived(FrameFixtures.error(requestID: 0, .authenticationError, "bad token"))
        guard case .failHandshakeAndClose(let error) = action else {
            Issue.record("expected failHandshakeAndClose, got \(action)")
            return
        }
        #expect(error.code == .authenticationFailed)
        #expect(error.serverError == .authenticationError)
        #expect(!machine.isConnected)
    }

    @Test func handshakeRefusedWithOtherError() {
        var machine = ConnectionStateMachine()
        _ = machine.channelActive()
        guard case .failHandshakeAndClose(let error) = machine.frameReceived(FrameFixtures.error(requestID: 0, .unsupportedVersionError, "old")) else {
            Issue.record("expected failure")
            return
        }
        #expect(error.code == .handshakeFailed)
    }

    @Test func authChallengeDuringAndAfterHandshake() {
        var machine = ConnectionStateMachine()
        _ = machine.channelActive()
        #expect(machine.frameReceived(FrameFixtures.authChallenge()) == .sendAuthResponse)
        #expect(machine.frameReceived(FrameFixtures.connected()) != .none)
        #expect(machine.frameReceived(FrameFixtures.authChallenge()) == .sendAuthResponse)
        #expect(machine.isConnected)
    }

    @Test func unexpectedCommandDuringHandshakeFails() {
        var machine = ConnectionStateMachine()
        _ = machine.channelActive()
        guard case .failHandshakeAndClose(let error) = machine.frameReceived(FrameFixtures.receipt(producerID: 1, sequenceID: 1, entry: 1)) else {
            Issue.record("expected failure")
            return
        }
        #expect(error.code == .protocolError)
    }

    @Test func commandBeforeConnectFails() {
        var machine = ConnectionStateMachine()
        guard case .failHandshakeAndClose = machine.frameReceived(FrameFixtures.connected()) else {
            Issue.record("expected failure")
            return
        }
    }

    @Test func handshakeTimeout() {
        var machine = ConnectionStateMachine()
        _ = machine.channelActive()
        guard case .failHandshakeAndClose(let error) = machine.handshakeTimedOut() else {
            Issue.record("expected failure")
            return
        }
        #expect(error.code == .handshakeFailed)
        var connected = connectedMachine()
        #expect(connected.handshakeTimedOut() == .none)
    }

    @Test func pingIsAnsweredWithPong() {
        var machine = connectedMachine()
        #expect(machine.frameReceived(PulsarCommands.ping()) == .sendPong)
    }

    @Test func otherCommandsAreForwarded() {
        var machine = connectedMachine()
        #expect(machine.frameReceived(FrameFixtures.receipt(producerID: 1, sequenceID: 0, entry: 0)) == .forward)
        #expect(machine.frameReceived(FrameFixtures.producerSuccess(requestID: 1, name: "p")) == .forward)
        #expect(machine.frameReceived(FrameFixtures.closeProducer(producerID: 1)) == .forward)
    }

    @Test func secondConnectedIsAProtocolError() {
        var machine = connectedMachine()
        guard case .closeConnection(let error) = machine.frameReceived(FrameFixtures.connected()) else {
            Issue.record("expected close")
            return
        }
        #expect(error.code == .protocolError)
    }

    @Test func keepAlivePingsWhileTrafficFlows() {
        var machine = connectedMachine()
        #expect(machine.keepAliveTick() == .sendPing)  // CONNECTED counted as inbound
        #expect(machine.frameReceived(PulsarCommands.pong()) == .none)
        #expect(machine.keepAliveTick() == .sendPing)
        _ = machine.frameReceived(FrameFixtures.receipt(producerID: 1, sequenceID: 0, entry: 0))
        #expect(machine.keepAliveTick() == .sendPing)
    }

    @Test func silenceForTwoIntervalsCloses() {
        var machine = connectedMachine()
        #expect(machine.keepAliveTick() == .sendPing)
        guard case .closeConnection(let error) = machine.keepAliveTick() else {
            Issue.record("expected close after two silent intervals")
            return
        }
        #expect(error.code == .timeout)
        #expect(machine.keepAliveTick() == .none)
    }

    @Test func quietButAliveConnectionSurvives() {
        var machine = connectedMachine()
        for _ in 0..<5 {
            #expect(machine.keepAliveTick() == .sendPing)
            #expect(machine.frameReceived(PulsarCommands.pong()) == .none)
        }
        #expect(machine.isConnected)
    }

    @Test func keepAliveBeforeHandshakeDoesNothing() {
        var machine = ConnectionStateMachine()
        _ = machine.channelActive()
        #expect(machine.keepAliveTick() == .none)
    }

    @Test func frameErrorClosesTheConnection() {
        var machine = connectedMachine()
        guard case .closeConnection(let error) = machine.frameDecodingFailed(PulsarFrameError(code: .badChecksum, detail: "x")) else {
            Issue.record("expected close")
            return
        }
        #expect(error.code == .protocolError)
        var handshaking = ConnectionStateMachine()
        _ = handshaking.channelActive()
        guard case .failHandshakeAndClose = handshaking.frameDecodingFailed(PulsarFrameError(code: .garbage, detail: "x")) else {
            Issue.record("expected handshake failure")
            return
        }
    }

    @Test func requestedCloseThenInactiveReportsTheReason() {
        var machine = connectedMachine()
        let reason = PulsarClientError(code: .protocolError, message: "resend")
        #expect(machine.closeRequested(reason) == .closeConnection(reason))
        #expect(machine.closeRequested(nil) == .none)
        #expect(machine.frameReceived(PulsarCommands.ping()) == .none)
        #expect(machine.channelInactive() == .fireConnectionClosed(reason))
        #expect(machine.channelInactive() == .none)
    }

    @Test func brokerDisconnectIsReported() {
        var machine = connectedMachine()
        guard case .fireConnectionClosed(let error) = machine.channelInactive() else {
            Issue.record("expected fireConnectionClosed")
            return
        }
        #expect(error.code == .connectionClosed)
    }
}
