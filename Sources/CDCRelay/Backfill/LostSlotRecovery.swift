import Logging
import OutboxCore

/// `cdc-relay recover`: after the slot was lost (`max_slot_wal_keep_size`), vanished or
/// replaced, creates a new slot with an exported snapshot and republishes from the table every
/// row the old slot may not have delivered: those created at or after the recorded acknowledged
/// commit time minus `margin` (or an explicit selection). Together with the new slot's stream
/// (which starts where the snapshot ends) nothing is lost; rows the old slot did deliver come
/// again with the same event ids.
///
/// The margin covers transactions that committed after the recorded one but carry an earlier
/// `created_at` (it is the row's insert time, not its commit time): a transaction open longer than
/// the margin when the old slot stopped is not covered.
public struct LostSlotRecovery: Sendable {
    public struct Outcome: Sendable, Hashable {
        public var refusal: String
        public var backfill: OutboxBackfill.Outcome
    }

    let configuration: OutboxConfiguration
    let logger: Logger
    let progress: @Sendable (String) -> Void

    public init(configuration: OutboxConfiguration, logger: Logger, progress: @escaping @Sendable (String) -> Void) {
        self.configuration = configuration
        self.logger = logger
        self.progress = progress
    }

    public static let defaultMargin: Duration = .seconds(600)

    public func run(selection explicit: BackfillSelection?, margin: Duration, rate: Int) async throws -> Outcome {
        let slotName = configuration.relay.slotName
        let backfill = OutboxBackfill(configuration: configuration, logger: logger, progress: progress)
        let store = backfill.makeStore()
        try await store.ensureTables()
        // A recovery that crashed while republishing continues (its slot is new and healthy now).
        if let unfinished = try await unfinishedRecovery(store, slotName: slotName) {
            progress("recover: continuing \(unfinished.name)")
            let summary = try await backfill.publish(unfinished, store: store, rate: rate, pageSize: 1000)
            return Outcome(refusal: "continued", backfill: .init(run: unfinished, summary: summary, createdSlot: false))
        }
        let replication = RelayApplication.replicationConfiguration(configuration)
        let table = OutboxTable(configured: configuration.relay.table)
        let diagnosis = try await SlotBootstrap(configuration: replication, table: table, logger: logger).diagnose()
        let refusal: ReplicationError
        switch diagnosis {
        case .success(let decision):
            throw BackfillError(code: .nothingToRecover, message: "slot \(slotName) is usable (\(decision)); the relay streams from it as it is")
        case .failure(let error) where [.slotLost, .slotVanished, .slotReplaced].contains(error.code):
            refusal = error
        case .failure(let error):
            throw error
        }
        progress("recover: \(refusal.message)")
        let selection: BackfillSelection
        if let explicit {
            selection = explicit
        } else {
            selection = try await recordedSelection(store, slotName: slotName, margin: margin)
        }
        if try await slotExists(store, slotName: slotName) {
            progress("recover: dropping the unusable slot \(slotName)")
            try await SlotBootstrap(configuration: replication, table: table, logger: logger).dropSlot()
        }
        let name = "recover-\(slotName)-\(UnixMicroseconds.now() / 1_000_000)"
        let bootstrap = SlotBootstrap(configuration: replication, table: table, replacingRecord: true, logger: logger)
        let outcome = try await bootstrap.run(exportingSnapshot: { snapshot, _ in
            _ = try await store.createManifest(name: name, slotName: slotName, selection: selection, snapshot: snapshot)
        })
        guard outcome.decision == .create, let run = try await store.run(named: name) else {
            throw BackfillError(code: .database, message: "the new slot \(slotName) was not created (\(outcome.decision))")
        }
        progress("recover: new slot \(slotName) at \(outcome.startLSN.map { "\($0)" } ?? "-"); republishing \(run.total) rows (\(selection))")
        let summary = try await backfill.publish(run, store: store, rate: rate, pageSize: 1000)
        return Outcome(refusal: refusal.message, backfill: .init(run: run, summary: summary, createdSlot: true))
    }

    /// Rows created at or after the recorded acknowledged commit time minus the margin.
    private func recordedSelection(_ store: BackfillStore, slotName: String, margin: Duration) async throws -> BackfillSelection {
        let quote = ReplicationConfiguration.quoteLiteral
        let seconds = margin.components.seconds
        let result: QueryResult
        do {
            result = try await store.execute("""
                SELECT (acked_commit_time - \(seconds) * interval '1 second')::text AS since
                FROM outbox_relay_slots WHERE slot_name = \(quote(slotName)) AND acked_commit_time IS NOT NULL
                """)
        } catch {
            throw BackfillError(code: .nothingToRecover, message: "no recorded progress for \(slotName) (\(error.message)); give --since TIME or --from-id ID")
        }
        guard let since = result.value(row: 0, column: "since") else {
            throw BackfillError(code: .nothingToRecover, message: "no recorded progress for \(slotName); give --since TIME or --from-id ID")
        }
        guard configuration.relay.columns.createdAt.columnName != nil else {
            throw BackfillError(code: .selectionUnsupported, message: "the recorded progress is a time, but relay.columns.created_at is empty; give --from-id ID")
        }
        return BackfillSelection(since: since)
    }

    private func slotExists(_ store: BackfillStore, slotName: String) async throws -> Bool {
        let result = try await store.execute(
            "SELECT active FROM pg_replication_slots WHERE slot_name = \(ReplicationConfiguration.quoteLiteral(slotName))")
        guard let active = result.rows.first else { return false }
        if active.first == "t" {
            throw BackfillError(code: .slotInUse, message: "slot \(slotName) is active: stop the relay using it first")
        }
        return true
    }

    private func unfinishedRecovery(_ store: BackfillStore, slotName: String) async throws -> BackfillRun? {
        let result = try await store.execute("""
            SELECT name FROM outbox_relay_backfills
            WHERE slot_name = \(ReplicationConfiguration.quoteLiteral(slotName)) AND name LIKE 'recover-%' AND finished_at IS NULL
            ORDER BY started_at DESC LIMIT 1
            """)
        guard let name = result.rows.first?.first ?? nil else { return nil }
        return try await store.run(named: name)
    }
}
