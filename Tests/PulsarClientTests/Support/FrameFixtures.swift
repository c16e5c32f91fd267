import NIOCore
@testable import PulsarClient

/// Frames and commands the tests use as a fake broker / fake client.
enum FrameFixtures {
    static func sendCommand(producerID: UInt64 = 1, sequenceID: UInt64 = 0) -> Pulsar_Proto_BaseCommand {
        PulsarCommands.send(producerID: producerID, sequenceID: sequenceID, highestSequenceID: nil, numMessages: 1)
    }

    static func metadata(producerName: String = "p", sequenceID: UInt64 = 0) -> Pulsar_Proto_MessageMetadata {
        var metadata = Pulsar_Proto_MessageMetadata()
        metadata.producerName = producerName
        metadata.sequenceID = sequenceID
        metadata.publishTime = 1_700_000_000_000
        return metadata
    }

    static func payloadFrame(payload: [UInt8] = Array("hello".utf8), sequenceID: UInt64 = 0) -> ByteBuffer {
        var buffer = ByteBuffer()
        try? PulsarFrameEncoder.writePayloadCommand(
            sendCommand(sequenceID: sequenceID), metadata: metadata(sequenceID: sequenceID),
            payload: ByteBuffer(bytes: payload), into: &buffer)
        return buffer
    }

    static func simpleFrame(_ command: Pulsar_Proto_BaseCommand) -> ByteBuffer {
        var buffer = ByteBuffer()
        try? PulsarFrameEncoder.writeCommand(command, into: &buffer)
        return buffer
    }

    static func connected(maxMessageSize: Int32? = nil, protocolVersion: Int32 = 20) -> Pulsar_Proto_BaseCommand {
        var connected = Pulsar_Proto_CommandConnected()
        connected.serverVersion = "fake-broker"
        connected.protocolVersion = protocolVersion
        if let maxMessageSize { connected.maxMessageSize = maxMessageSize }
        var command = Pulsar_Proto_BaseCommand()
        command.type = .connected
        command.connected = connected
        return command
    }

    static func error(requestID: UInt64, _ error: Pulsar_Proto_ServerError, _ message: String) -> Pulsar_Proto_BaseCommand {
        var body = Pulsar_Proto_CommandError()
        body.requestID = requestID
        body.error = error
        body.message = message
        var command = Pulsar_Proto_BaseCommand()
        command.type = .error
        command.error = body
        return command
    }

    static func producerSuccess(requestID: UInt64, name: String, lastSequenceID: Int64 = -1) -> Pulsar_Proto_BaseCommand {
        var body = Pulsar_Proto_CommandProducerSuccess()
        body.requestID = requestID
        body.producerName = name
        body.lastSequenceID = lastSequenceID
        var command = Pulsar_Proto_BaseCommand()
        command.type = .producerSuccess
        command.producerSuccess = body
        return command
    }

    static func receipt(producerID: UInt64, sequenceID: UInt64, ledger: UInt64 = 7, entry: UInt64, highest: UInt64? = nil) -> Pulsar_Proto_BaseCommand {
        var id = Pulsar_Proto_MessageIdData()
        id.ledgerID = ledger
        id.entryID = entry
        var body = Pulsar_Proto_CommandSendReceipt()
        body.producerID = producerID
        body.sequenceID = sequenceID
        body.messageID = id
        if let highest { body.highestSequenceID = highest }
        var command = Pulsar_Proto_BaseCommand()
        command.type = .sendReceipt
        command.sendReceipt = body
        return command
    }

    static func sendError(producerID: UInt64, sequenceID: UInt64, _ error: Pulsar_Proto_ServerError) -> Pulsar_Proto_BaseCommand {
        var body = Pulsar_Proto_CommandSendError()
        body.producerID = producerID
        body.sequenceID = sequenceID
        body.error = error
        body.message = "send failed"
        var command = Pulsar_Proto_BaseCommand()
        command.type = .sendError
        command.sendError = body
        return command
    }

    static func closeProducer(producerID: UInt64) -> Pulsar_Proto_BaseCommand {
        PulsarCommands.closeProducer(producerID: producerID, requestID: 999)
    }

    static func authChallenge() -> Pulsar_Proto_BaseCommand {
        var data = Pulsar_Proto_AuthData()
        data.authMethodName = "token"
        var challenge = Pulsar_Proto_CommandAuthChallenge()
        challenge.serverVersion = "fake-broker"
        challenge.challenge = data
        challenge.protocolVersion = 20
        var command = Pulsar_Proto_BaseCommand()
        command.type = .authChallenge
        command.authChallenge = challenge
        return command
    }
}
