import ArgumentParser
import CDCRelay
import Logging
import Foundation
import OutboxCore

/// `cdc-relay [--config FILE] [--set key=value]…`: streams outbox inserts to Pulsar until
/// SIGTERM/SIGINT. `cdc-relay check`: the preflight.
@main
struct CDCRelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cdc-relay",
        abstract: "Relay committed outbox rows from Postgres logical replication to Apache Pulsar.",
        subcommands: [CheckCommand.self, BackfillCommand.self, RecoverCommand.self]
    )

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let configuration = options.loadOrExit()
        LoggingSystem.bootstrap { LineLogHandler(label: $0) }
        var logger = Logger(label: "cdc-relay")
        logger.logLevel = configuration.log.level
        logger.info("starting", metadata: ["configuration": "\(configuration)"])
        do {
            try await configuration.database.checkTLSAtStart(logger: logger)
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(78)
        }
        let application = try RelayApplication(configuration: configuration, logger: logger)
        try await application.run()
    }
}
