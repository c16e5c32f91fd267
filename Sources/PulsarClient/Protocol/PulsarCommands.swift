#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

/// Builders for the BaseCommands this client sends. Each sets `type` and the matching sub-command
/// (a sub-command's field number equals its type value).
public enum PulsarCommands {
    public static let protocolVersion: Int32 = 20
    public static let clientVersion = "outbox-relay-swift/1.0"

    public static func connect(
        authMethodName: String?,
        authData: [UInt8]?,
        proxyToBrokerURL: String?
    ) -> Pulsar_Proto_BaseCommand {
        var connect = Pulsar_Proto_CommandConnect()
        connect.clientVersion = clientVersion
        connect.protocolVersion = protocolVersion
        if let authMethodName { connect.authMethodName = authMethodName }
        if let authData { connect.authData = Data(authData) }
        if let proxyToBrokerURL { connect.proxyToBrokerURL = proxyToBrokerURL }
        var flags = Pulsar_Proto_FeatureFlags()
        flags.supportsAuthRefresh = true
        connect.featureFlags = flags
        var command = Pulsar_Proto_BaseCommand()
        command.type = .connect
        command.connect = connect
        return command
    }

    public static func authResponse(authMethodName: String, authData: [UInt8]) -> Pulsar_Proto_BaseCommand {
        var data = Pulsar_Proto_AuthData()
        data.authMethodName = authMethodName
        data.authData = Data(authData)
        var response = Pulsar_Proto_CommandAuthResponse()
        response.clientVersion = clientVersion
        response.protocolVersion = protocolVersion
        response.response = data
        var command = Pulsar_Proto_BaseCommand()
        command.type = .authResponse
        command.authResponse = response
        return command
    }

    public static func ping() -> Pulsar_Proto_BaseCommand {
        var command = Pulsar_Proto_BaseCommand()
        command.type = .ping
        command.ping = Pulsar_Proto_CommandPing()
        return command
    }

    public static func pong() -> Pulsar_Proto_BaseCommand {
        var command = Pulsar_Proto_BaseCommand()
        command.type = .pong
        command.pong = Pulsar_Proto_CommandPong()
        return command
    }

    public static func lookup(topic: String, requestID: UInt64, authoritative: Bool) -> Pulsar_Proto_BaseCommand {
        var lookup = Pulsar_Proto_CommandLookupTopic()
        lookup.topic = topic
        lookup.requestID = requestID
        lookup.authoritative = authoritative
        var command = Pulsar_Proto_BaseCommand()
        command.type = .lookup
        command.lookupTopic = lookup
        return command
    }

    public static func partitionedMetadata(topic: String, requestID: UInt64) -> Pulsar_Proto_BaseCommand {
        var metadata = Pulsar_Proto_CommandPartitionedTopicMetadata()
        metadata.topic = topic
        metadata.requestID = requestID
        var command = Pulsar_Proto_BaseCommand()
        command.type = .partitionedMetadata
        command.partitionMetadata = metadata
        return command
    }

    public static func producer(
        topic: String,
        producerID: UInt64,
        requestID: UInt64,
        producerName: String?,
        userProvidedName: Bool,
        epoch: UInt64
    ) -> Pulsar_Proto_BaseCommand {
        var producer = Pulsar_Proto_CommandProducer()
        producer.topic = topic
        producer.producerID = producerID
        producer.requestID = requestID
        if let producerName { producer.producerName = producerName }
        producer.userProvidedProducerName = userProvidedName
        producer.epoch = epoch
        var command = Pulsar_Proto_BaseCommand()
        command.type = .producer
        command.producer = producer
        return command
    }

    public static func closeProducer(producerID: UInt64, requestID: UInt64) -> Pulsar_Proto_BaseCommand {
        var close = Pulsar_Proto_CommandCloseProducer()
        close.producerID = producerID
        close.requestID = requestID
        var command = Pulsar_Proto_BaseCommand()
        command.type = .closeProducer
        command.closeProducer = close
        return command
    }

    public static func send(producerID: UInt64, sequenceID: UInt64, highestSequenceID: UInt64?, numMessages: Int32) -> Pulsar_Proto_BaseCommand {
        var send = Pulsar_Proto_CommandSend()
        send.producerID = producerID
        send.sequenceID = sequenceID
        if let highestSequenceID { send.highestSequenceID = highestSequenceID }
        if numMessages != 1 { send.numMessages = numMessages }
        var command = Pulsar_Proto_BaseCommand()
        command.type = .send
        command.send = send
        return command
    }

    public static func subscribe(_ subscribe: Pulsar_Proto_CommandSubscribe) -> Pulsar_Proto_BaseCommand {
        var command = Pulsar_Proto_BaseCommand()
        command.type = .subscribe
        command.subscribe = subscribe
        return command
    }

    public static func flow(consumerID: UInt64, permits: UInt32) -> Pulsar_Proto_BaseCommand {
        var flow = Pulsar_Proto_CommandFlow()
        flow.consumerID = consumerID
        flow.messagePermits = permits
        var command = Pulsar_Proto_BaseCommand()
        command.type = .flow
        command.flow = flow
        return command
    }

    public static func ack(_ ack: Pulsar_Proto_CommandAck) -> Pulsar_Proto_BaseCommand {
        var command = Pulsar_Proto_BaseCommand()
        command.type = .ack
        command.ack = ack
        return command
    }

    public static func closeConsumer(consumerID: UInt64, requestID: UInt64) -> Pulsar_Proto_BaseCommand {
        var close = Pulsar_Proto_CommandCloseConsumer()
        close.consumerID = consumerID
        close.requestID = requestID
        var command = Pulsar_Proto_BaseCommand()
        command.type = .closeConsumer
        command.closeConsumer = close
        return command
    }

    public static func unsubscribe(consumerID: UInt64, requestID: UInt64) -> Pulsar_Proto_BaseCommand {
        var unsubscribe = Pulsar_Proto_CommandUnsubscribe()
        unsubscribe.consumerID = consumerID
        unsubscribe.requestID = requestID
        var command = Pulsar_Proto_BaseCommand()
        command.type = .unsubscribe
        command.unsubscribe = unsubscribe
        return command
    }

    public static func redeliverUnacknowledged(consumerID: UInt64, messageIDs: [Pulsar_Proto_MessageIdData] = []) -> Pulsar_Proto_BaseCommand {
        var redeliver = Pulsar_Proto_CommandRedeliverUnacknowledgedMessages()
        redeliver.consumerID = consumerID
        redeliver.messageIds = messageIDs
        var command = Pulsar_Proto_BaseCommand()
        command.type = .redeliverUnacknowledgedMessages
        command.redeliverUnacknowledgedMessages = redeliver
        return command
    }
}
