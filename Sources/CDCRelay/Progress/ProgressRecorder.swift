import Dispatch
import OutboxCore
import Logging
import ServiceLifecycle

/// Records the relay's acknowledged progress as a committed row in `outbox_relay_slots`, about
/// once a second while it moves.
///
/// Postgres 15 writes a slot's confirmed position to disk only at checkpoints, so after a crash
/// the slot can go back minutes; the next session starts from the newer of this row and the slot
/// (`SlotBootstrap`), and the server skips every transaction that committed before it. The row is
/// only ever moved forward (the UPDATE's condition), so an older relay cannot pull it back.
///
/// libpq blocks, so the connection lives on a private dispatch queue, never on the cooperative
/// pool. Listed before the relay in the service group, it is shut down after the relay drained
/// and writes the final position then.
public struct ProgressRecorder: Service, CustomStringConvertible {
    private let conninfo: String
    private let slotName: String
    private let board: AckedProgressBoard
    private let interval: Duration
    private let metrics: RelayMetrics
    private let logger: Logger
    private let connection = QueueConnection(label: "outbox-relay.progress")

    public init(conninfo: String, slotName: String, board: AckedProgressBoard, interval: Duration = .seconds(1), metrics: RelayMetrics, logger: Logger) {
        self.conninfo = conninfo
        self.slotName = slotName
        self.board = board
        self.interval = interval
        self.metrics = metrics
        self.logger = logger
    }

    /// The connection string holds the password: never print it.
    public var description: String { "ProgressRecorder(slot: \(slotName))" }

    public func run() async throws {
        var schedule = ProgressSchedule(interval: interval)
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))
        var lastError: String?
        let tick = min(interval / 4, .milliseconds(250))
        while !Task.isShuttingDownGracefully {
            if let due = schedule.due(board.latest, now: .now) {
                if await write(due, lastError: &lastError) {
                    schedule.wrote(due, at: .now)
                    backoff.reset()
                } else {
                    let delay = backoff.nextDelay()
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
                    continue
                }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: tick) }
        }
        // The relay has drained (it is shut down first): record where it stopped.
        if let final = board.latest, final != schedule.written {
            _ = await write(final, lastError: &lastError)
        }
        await connection.close()
    }

    private func write(_ progress: AckedProgress, lastError: inout String?) async -> Bool {
        let sql = Self.updateSQL(slotName: slotName, progress: progress)
        do {
            _ = try await connection.execute(sql, conninfo: conninfo, timeoutSeconds: 5)
            metrics.recordedLSN.set(Double(progress.lsn))
            if lastError != nil {
                logger.notice("recording the acknowledged progress again")
                lastError = nil
            }
            return true
        } catch {
            metrics.progressWriteFailures.increment()
            let message = error.sqlState == "42703"
                ? "outbox_relay_slots lacks the progress columns: apply sql/0025_relay_progress.sql (\(error.message))"
                : error.message
            if message != lastError {
                logger.warning("could not record the acknowledged progress; after a Postgres crash more events may be replayed", metadata: ["error": "\(message)"])
            }
            lastError = message
            return false
        }
    }

    static func updateSQL(slotName: String, progress: AckedProgress) -> String {
        let quote = ReplicationConfiguration.quoteLiteral
        let lsn = quote(LSNFormat.string(progress.lsn))
        let commitTime = progress.commitTime.map { "timestamptz 'epoch' + \($0) * interval '1 microsecond'" } ?? "acked_commit_time"
        return """
            UPDATE outbox_relay_slots
               SET acked_lsn = \(lsn)::pg_lsn, acked_commit_time = \(commitTime), progress_at = now()
             WHERE slot_name = \(quote(slotName)) AND (acked_lsn IS NULL OR acked_lsn <= \(lsn)::pg_lsn)
            """
    }
}
