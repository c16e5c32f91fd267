import ArgumentParser
import Foundation
import PulsarClient

struct ProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Publish messages to a topic and print one JSON line per message id."
    )

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "Topic, e.g. persistent://public/default/products.")
    var topic: String

    @Option(name: [.short, .customLong("messages")], help: "Message text; repeat for several messages.")
    var message: [String] = []

    @Option(name: [.customShort("n"), .customLong("num-produce")], help: "How many times to send the message(s).")
    var count: Int = 1

    @Option(name: [.short, .customLong("key")], help: "Partition key.")
    var key: String?

    @Option(name: [.short, .customLong("property")], help: "Property key=value; repeatable.")
    var property: [String] = []

    @Option(name: .customLong("payload-file"), help: "Send this file's bytes as a message (instead of or after the -m messages); repeatable.")
    var payloadFile: [String] = []

    @Flag(name: .long, help: "Send a message larger than the broker's maximum message size as a chunked message.")
    var chunking = false

    func validate() throws {
        guard !message.isEmpty || !payloadFile.isEmpty else { throw ValidationError("at least one -m MESSAGE or --payload-file PATH is required") }
        guard count >= 1 else { throw ValidationError("-n must be at least 1") }
        for pair in property where !pair.contains("=") {
            throw ValidationError("property '\(pair)' is not key=value")
        }
    }

    func run() async throws {
        var properties: [String: String] = [:]
        for pair in property {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            properties[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        var payloads = message.map { Array($0.utf8) }
        for path in payloadFile {
            guard let data = FileManager.default.contents(atPath: path) else { throw fail("cannot read \(path)") }
            payloads.append(Array(data))
        }
        let client = connection.makeClient()
        var exit: ExitCode?
        do {
            let producer = try await client.createProducer(topic: topic, options: ProducerOptions(chunking: chunking))
            for _ in 0..<count {
                for payload in payloads {
                    let id = try await producer.send(PulsarOutgoingMessage(payload, key: key, properties: properties))
                    print(#"{"id":"\#(id)"}"#)
                }
            }
            try await producer.close()
        } catch {
            exit = fail(describe(error))
        }
        await client.shutdown()
        if let exit { throw exit }
    }
}
