import ArgumentParser
import CDCRelay
import Foundation
import Logging
import OutboxCore

/// `cdc-relay recover`: a new slot and the rows the lost one may not have delivered, then streams.
struct RecoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract: "After a lost, vanished or replaced slot: create a new slot gap-free, republish what the old one may have missed, then stream.",
        discussion: """
            The rows republished are those created at or after the relay's recorded acknowledged commit time \
            (outbox_relay_slots) minus --margin seconds, unless --since/--from-id name them. Stop every relay on the \
            slot first. Duplicates carry the same event ids.
            """
    )

    @OptionGroup var options: ConfigurationOptions

    @Option(help: "Seconds before the recorded acknowledged commit time to republish from.")
    var margin: Int = 600

    @Option(help: "Republish rows whose created_at is at or after this time instead.")
    var since: String?

    @Option(name: .customLong("from-id"), help: "Republish rows whose id is at least this instead.")
    var fromID: Int64?

    @Option(help: "Rows per second while republishing (0: unthrottled).")
    var rate: Int = 5000

    @Flag(name: .customLong("no-stream"), help: "Exit after republishing instead of streaming.")
    var noStream = false

    func run() async throws {
        let configuration = options.loadOrExit()
        let logger = CommandOutput.logger(label: "cdc-relay-recover", configuration: configuration)
        let recovery = LostSlotRecovery(configuration: configuration, logger: logger, progress: CommandOutput.line)
        let explicit = since == nil && fromID == nil ? nil : BackfillSelection(since: since, fromID: fromID)
        let started = ContinuousClock.now
        do {
            let outcome = try await recovery.run(selection: explicit, margin: .seconds(max(0, margin)), rate: max(0, rate))
            CommandOutput.line("recover: done in \(ContinuousClock.now - started)")
            try CommandOutput.finish(outcome.backfill.run, outcome.backfill.summary)
        } catch let exit as ExitCode {
            throw exit
        } catch {
            CommandOutput.line("recover failed: \(error)")
            throw ExitCode(1)
        }
        guard !noStream else { return }
        CommandOutput.line("recover: streaming")
        try await RelayApplication(configuration: configuration, logger: logger).run()
    }
}
