import ArgumentParser
import CDCRelay
import Foundation
import Logging
import OutboxCore

/// What the one-shot subcommands print on the terminal (stderr), and their exit codes.
enum CommandOutput {
    @Sendable static func line(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func logger(label: String, configuration: OutboxConfiguration) -> Logger {
        LoggingSystem.bootstrap { LineLogHandler(label: $0) }
        var logger = Logger(label: label)
        logger.logLevel = configuration.log.level
        return logger
    }

    /// The summary line; exit 3 when rows did not map (reported, not published).
    static func finish(_ run: BackfillRun, _ summary: TableBackfill.Summary?) throws {
        guard let summary else { return }
        line("backfill \(run.name): published \(summary.published) rows in \(String(format: "%.1f", summary.seconds)) s; "
            + "\(summary.invalid) rows did not map, \(summary.gone) were no longer in the table")
        if summary.invalid > 0 || run.invalid > 0 { throw ExitCode(3) }
    }
}
