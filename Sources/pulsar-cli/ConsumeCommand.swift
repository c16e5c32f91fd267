import ArgumentParser
import Dispatch
import Foundation
import PulsarClient

#if canImport(Glibc)
import Glibc
#endif

struct ConsumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Receive messages from a subscription, acknowledge them, print one JSON line each."
    )

    enum SubscriptionKind: String, ExpressibleByArgument, CaseIterable {
        case shared, exclusive, failover
        case keyShared = "key_shared"

        var type: SubscriptionType {
            switch self {
            case .shared: .shared
            case .exclusive: .exclusive
            case .failover: .failover
            case .keyShared: .keyShared
            }
        }
    }

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "Topic to consume from.")
    var topic: String

    @Option(name: [.short, .customLong("subscription-name")], help: "Subscription name.")
    var subscription: String

    @Option(name: [.customShort("n"), .customLong("num-messages")], help: "Messages to receive; 0 = until Ctrl-C.")
    var count: Int = 1

    @Option(name: [.customShort("t"), .customLong("type")], help: "Subscription type: shared, exclusive, failover, key_shared.")
    var kind: SubscriptionKind = .exclusive

    @Flag(name: .long, help: "Start a new subscription at the earliest message instead of the latest.")
    var earliest = false

    @Option(name: .long, help: "Receiver queue size (FLOW permits).")
    var receiverQueueSize: Int = 1000

    @Option(name: .long, help: "Write each payload to DIR/<message id>.bin and print its path and size instead of the payload (for large messages).")
    var payloadDir: String?

    func validate() throws {
        guard count >= 0 else { throw ValidationError("-n must be 0 (forever) or positive") }
        guard !subscription.isEmpty else { throw ValidationError("-s SUBSCRIPTION must not be empty") }
    }

    func run() async throws {
        let client = connection.makeClient()
        let options = ConsumerOptions(
            subscriptionType: kind.type,
            initialPosition: earliest ? .earliest : .latest,
            receiverQueueSize: receiverQueueSize
        )
        var exit: ExitCode?
        do {
            let consumer = try await client.subscribe(topic: topic, subscription: subscription, options: options)
            // Ctrl-C / SIGTERM cancel the receive loop so the consumer is closed cleanly.
            let receiving = Task { [payloadDir] in try await Self.receive(from: consumer, count: count, payloadDir: payloadDir) }
            let signals = Self.onInterrupt { receiving.cancel() }
            defer { signals.forEach { $0.cancel() } }
            do {
                try await receiving.value
            } catch is CancellationError {
                // Interrupted by the user: a normal end.
            }
            try? await consumer.close()
        } catch {
            exit = fail(describe(error))
        }
        await client.shutdown()
        if let exit { throw exit }
    }

    private static func receive(from consumer: PulsarConsumer, count: Int, payloadDir: String?) async throws {
        var received = 0
        while count == 0 || received < count {
            let message: PulsarMessage?
            do {
                message = try await consumer.receive()
            } catch let error as PulsarConsumerError where error.messageID != nil {
                // One undecodable message: report it, skip it for good, keep going.
                _ = fail("message \(error.messageID.map { "\($0)" } ?? "?") skipped: \(error.code): \(error.detail)")
                if let id = error.messageID { try await consumer.acknowledge(id) }
                continue
            }
            guard let message else { return }
            if let payloadDir {
                let path = "\(payloadDir)/\(message.id).bin"
                guard FileManager.default.createFile(atPath: path, contents: Data(message.payloadBytes)) else {
                    throw fail("cannot write \(path)")
                }
                print(MessageJSON.line(for: message, payloadFile: path))
            } else {
                print(MessageJSON.line(for: message))
            }
            try await consumer.acknowledge(message.id)
            received += 1
        }
    }

    private static func onInterrupt(_ handler: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            return source
        }
    }
}
