import ArgumentParser
import CatalogProjector
import Foundation
import Logging
import OutboxCore

/// `catalog-projector [--config FILE] [--set key=value]…`: keeps the catalog read model in its
/// own database from `product.created` events until SIGTERM/SIGINT.
@main
struct CatalogProjectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog-projector",
        abstract: "Project product.created events into the catalog read model, each event exactly once."
    )

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let configuration = options.loadOrExit()
        LoggingSystem.bootstrap { LineLogHandler(label: $0) }
        var logger = Logger(label: "catalog-projector")
        logger.logLevel = configuration.log.level
        logger.info("starting", metadata: ["configuration": "\(configuration)"])
        do {
            try await configuration.database.checkTLSAtStart(logger: logger)
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(78)
        }
        try await ProjectorApplication(configuration: configuration, logger: logger).run()
    }
}
