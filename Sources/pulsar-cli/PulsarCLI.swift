import ArgumentParser

@main
struct PulsarCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pulsar-cli",
        abstract: "Produce and consume Pulsar messages with the outbox-relay Swift client.",
        subcommands: [ProduceCommand.self, ConsumeCommand.self]
    )
}
