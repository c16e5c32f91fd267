import ArgumentParser
import CDCRelay
import Foundation
import Logging
import OutboxCore

/// `cdc-relay check [--config FILE] [--set key=value]…`: what would stop the relay, as one table;
/// exit 1 on a blocker, 0 otherwise (warnings included). Reads only; changes nothing.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Preflight: wal_level, role and grants, publication, slot, outbox columns, broker."
    )

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let configuration = options.loadOrExit()
        LoggingSystem.bootstrap { LineLogHandler(label: $0) }
        var logger = Logger(label: "cdc-relay-check")
        logger.logLevel = .critical  // the table is the output; connection errors are in it
        let relay = configuration.relay
        let check = PreflightCheck(
            table: OutboxTable(configured: relay.table), mapping: relay.columns, slotName: relay.slotName,
            publicationName: relay.publicationName, role: relay.effectiveReplicationUsername(database: configuration.database))
        let facts = await PreflightCollector(configuration: configuration, logger: logger).collect()
        let findings = check.evaluate(facts)
        print(PreflightReport.render(findings))
        if PreflightCheck.hasBlocker(findings) { throw ExitCode(1) }
    }
}
