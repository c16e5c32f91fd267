import ArgumentParser
import CDCRelay
import Foundation
import Logging
import OutboxCore

/// `cdc-relay backfill [--since TIME] [--from-id ID] [--rate N] [--name NAME]`: publishes outbox
/// rows the stream will never deliver. Exit 0 when done, 1 on an error, 3 when rows did not map.
struct BackfillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backfill",
        abstract: "Publish outbox rows committed before the slot existed, or a selection, gap-free with the stream.",
        discussion: """
            Without a slot, the slot is created with an exported snapshot and every row committed before it is \
            published (narrowed by --since/--from-id); the relay then streams from where the snapshot ends. With a \
            slot, --since or --from-id is required and the selection is published again. A rerun with the same \
            arguments (or --name) continues after the last acknowledged page under the same sequence ids.
            """
    )

    @OptionGroup var options: ConfigurationOptions

    @Option(help: "Only rows whose created_at is at or after this time (e.g. 2026-12-01T00:00:00Z).")
    var since: String?

    @Option(name: .customLong("from-id"), help: "Only rows whose id is at least this.")
    var fromID: Int64?

    @Option(help: "Rows per second (0: unthrottled), so live traffic keeps its latency.")
    var rate: Int = 5000

    @Option(help: "The run's name (default: the slot and the selection); a rerun of a name continues it.")
    var name: String?

    func run() async throws {
        let configuration = options.loadOrExit()
        let logger = CommandOutput.logger(label: "cdc-relay-backfill", configuration: configuration)
        let backfill = OutboxBackfill(configuration: configuration, logger: logger, progress: CommandOutput.line)
        do {
            let outcome = try await backfill.run(
                .init(name: name, selection: BackfillSelection(since: since, fromID: fromID), rate: max(0, rate)))
            try CommandOutput.finish(outcome.run, outcome.summary)
        } catch let exit as ExitCode {
            throw exit
        } catch {
            CommandOutput.line("backfill failed: \(error)")
            throw ExitCode(1)
        }
    }
}
