import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
@testable import PulsarClient

/// A tiny TCP broker for producer tests: answers the handshake, lookups and PRODUCER, records every
/// SEND, and misbehaves on its first connection as the script says.
final class ScriptedBroker: Sendable {
    struct Script: Sendable {
        /// last_sequence_id for the 1st, 2nd... PRODUCER_SUCCESS (default -1).
        var lastSequenceIDs: [Int64] = []
        /// First connection: after this many SENDs (unanswered), send CLOSE_PRODUCER.
        var closeProducerAfter: Int?
        /// First connection: answer the 2nd SEND's receipt before the 1st.
        var receiptOutOfOrder = false
        /// First connection: answer the 1st SEND with this SEND_ERROR.
        var sendError: Pulsar_Proto_ServerError?
        /// Never answer a SEND (a broker that stopped acknowledging).
        var ignoreSends = false
        /// CONNECTED.max_message_size (nil: not sent, clients assume 5 MiB).
        var maxMessageSize: Int32?
    }

    struct Send: Sendable, Equatable {
        /// 0 for the first PRODUCER, 1 after the first re-creation...
        var round: Int
        var sequenceID: UInt64
        var publishTime: UInt64
        var payload: String
        /// Set for a chunk: metadata chunk_id, and whether CommandSend.is_chunk was set.
        var chunkID: Int32? = nil
        var isChunk = false
    }

    struct Recorded: Sendable {
        var sends: [Send] = []
        var producerEpochs: [UInt64] = []
        var producerNames: [String] = []
        var connections = 0
        var nextEntry: UInt64 = 0
    }

    let script: Script
    let recorded = NIOLockedValueBox(Recorded())
    private let channel: NIOLockedValueBox<(any Channel)?> = NIOLockedValueBox(nil)

    init(script: Script) {
        self.script = script
    }

    var url: String {
        let port = channel.withLockedValue { $0?.localAddress?.port } ?? 0
        return "pulsar://127.0.0.1:\(port ?? 0)"
    }

    func start() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    let index = self.recorded.withLockedValue { state -> Int in
                        defer { state.connections += 1 }
                        return state.connections
                    }
                    try child.pipeline.syncOperations.addHandler(ByteToMessageHandler(PulsarFrameDecoder()))
                    try child.pipeline.syncOperations.addHandler(Connection(broker: self, index: index))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        channel.withLockedValue { $0 = server }
    }

    func stop() async {
        let server = channel.withLockedValue { $0 }
        try? await server?.close()
    }

    private final class Connection: ChannelInboundHandler {
        typealias InboundIn = PulsarFrame
        typealias OutboundOut = ByteBuffer
        let broker: ScriptedBroker
        let index: Int
        var sendsOnThisConnection: [Pulsar_Proto_CommandSend] = []

        init(broker: ScriptedBroker, index: Int) {
            self.broker = broker
            self.index = index
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            let command = frame.command
            switch command.type {
            case .connect:
                reply(FrameFixtures.connected(maxMessageSize: broker.script.maxMessageSize), context)
            case .partitionedMetadata:
                var response = Pulsar_Proto_BaseCommand()
                response.type = .partitionedMetadataResponse
                response.partitionMetadataResponse.requestID = command.partitionMetadata.requestID
                response.partitionMetadataResponse.partitions = 0
                reply(response, context)
            case .lookup:
                var response = Pulsar_Proto_BaseCommand()
                response.type = .lookupResponse
                response.lookupTopicResponse.requestID = command.lookupTopic.requestID
                response.lookupTopicResponse.response = .connect
                response.lookupTopicResponse.brokerServiceURL = broker.url
                reply(response, context)
            case .producer:
                let producer = command.producer
                let count = broker.recorded.withLockedValue { state -> Int in
                    state.producerEpochs.append(producer.epoch)
                    state.producerNames.append(producer.producerName)
                    return state.producerEpochs.count
                }
                let last = count <= broker.script.lastSequenceIDs.count ? broker.script.lastSequenceIDs[count - 1] : -1
                reply(FrameFixtures.producerSuccess(requestID: producer.requestID, name: producer.hasProducerName ? producer.producerName : "scripted-producer", lastSequenceID: last), context)
            case .closeProducer:
                var success = Pulsar_Proto_BaseCommand()
                success.type = .success
                success.success.requestID = command.closeProducer.requestID
                reply(success, context)
            case .send:
                handleSend(command.send, frame.payload, context)
            default:
                break
            }
        }

        private func handleSend(_ send: Pulsar_Proto_CommandSend, _ payload: PulsarFramePayload?, _ context: ChannelHandlerContext) {
            let round = broker.recorded.withLockedValue { state -> Int in
                let round = state.producerEpochs.count - 1
                let metadata = payload?.metadata
                state.sends.append(Send(round: round, sequenceID: send.sequenceID, publishTime: metadata?.publishTime ?? 0,
                                        payload: payload.map { String(buffer: $0.body) } ?? "",
                                        chunkID: metadata?.hasChunkID == true ? metadata?.chunkID : nil, isChunk: send.isChunk))
                return round
            }
            if round == 0 { sendsOnThisConnection.append(send) }
            let script = broker.script
            if script.ignoreSends { return }
            if round == 0 {
                if let after = script.closeProducerAfter {
                    if sendsOnThisConnection.count == after {
                        reply(PulsarCommands.closeProducer(producerID: send.producerID, requestID: 0), context)
                    }
                    return
                }
                if script.receiptOutOfOrder {
                    if sendsOnThisConnection.count == 2 { receipt(send, context) }
                    return
                }
                if let error = script.sendError, sendsOnThisConnection.count == 1 {
                    reply(FrameFixtures.sendError(producerID: send.producerID, sequenceID: send.sequenceID, error), context)
                    return
                }
            }
            receipt(send, context)
        }

        private func receipt(_ send: Pulsar_Proto_CommandSend, _ context: ChannelHandlerContext) {
            let entry = broker.recorded.withLockedValue { state -> UInt64 in
                defer { state.nextEntry += 1 }
                return state.nextEntry
            }
            reply(FrameFixtures.receipt(producerID: send.producerID, sequenceID: send.sequenceID, ledger: 1, entry: entry), context)
        }

        private func reply(_ command: Pulsar_Proto_BaseCommand, _ context: ChannelHandlerContext) {
            context.writeAndFlush(wrapOutboundOut(FrameFixtures.simpleFrame(command)), promise: nil)
        }
    }
}
