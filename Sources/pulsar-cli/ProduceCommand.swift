import ArgumentParser
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

    func validate() throws {
        guard !message.isEmpty else { throw ValidationError("at least one -m MESSAGE is required") }
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
        let client = connection.makeClient()
        var exit: ExitCode?
        do {
            let producer = try await client.createProducer(topic: topic)
            for _ in 0..<count {
                for text in message {
                    let id = try await producer.send(PulsarOutgoingMessage(text, key: key, properties: properties))
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
