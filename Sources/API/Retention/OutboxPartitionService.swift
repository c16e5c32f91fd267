import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Keeps the partitioned outbox bounded: every round, in one short transaction under an advisory
/// lock (so several API instances take turns), creates partitions ahead and detaches and drops
/// the ones ``OutboxPartitionPlanner`` allows, then records the outbox's size. The SQL runs as
/// the API's database role, which must own `outbox` (partition DDL needs ownership); without it
/// the round is skipped with a log line and `outbox_partition_maintenance_failing 1`.
///
/// Plain `DETACH PARTITION`, not `CONCURRENTLY`: the concurrent form cannot run in a transaction
/// (so not under the advisory lock, nor together with the DROP) and waits for every transaction
/// using the table. The plain form takes a brief ACCESS EXCLUSIVE lock on the outbox; with
/// `lock_timeout` a busy table makes the round fail fast and try again, instead of queueing
/// inserts behind a waiting lock.
public struct OutboxPartitionService: Service {
    let client: PostgresClient
    let planner: OutboxPartitionPlanner
    let round: Duration
    let logger: Logger
    let metrics: OutboxMetrics

    /// The advisory lock key ("outpar" in ASCII; the migrator holds "outbox").
    static let lockKey: Int64 = 0x6F75_7470_6172

    public init(client: PostgresClient, settings: OutboxRetentionSettings, logger: Logger, metrics: OutboxMetrics) {
        self.client = client
        self.planner = OutboxPartitionPlanner(interval: settings.partitionInterval, retention: settings.retention, margin: settings.margin)
        // Several rounds per interval, so partitions ahead never run out; at least once a minute.
        self.round = max(.milliseconds(500), min(settings.partitionInterval / 2, .seconds(60)))
        self.logger = logger
        self.metrics = metrics
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var lastReport = ""
            while !Task.isCancelled {
                let report: String
                do {
                    let outcome = try await maintain()
                    report = outcome.report
                    if !outcome.changes.isEmpty { logger.info("outbox partitions", metadata: ["changes": "\(outcome.changes.joined(separator: ", "))"]) }
                } catch {
                    if Task.isCancelled { return }
                    metrics.recordFailing()
                    report = "outbox partition maintenance failed: \(String(reflecting: error))"
                }
                // A lasting condition is logged when it starts, not every round.
                if report != lastReport, !report.isEmpty { logger.warning("\(report)") }
                lastReport = report
                do {
                    try await recordSize()
                } catch {
                    if Task.isCancelled { return }
                    logger.debug("outbox size query failed", metadata: ["error": "\(String(reflecting: error))"])
                }
                do { try await Task.sleep(for: round) } catch { return }
            }
        }
    }

    struct Outcome {
        var changes: [String] = []
        /// A condition worth one warning (empty when all is well).
        var report = ""
    }

    /// One round; internal so tests can drive rounds directly.
    func maintain() async throws -> Outcome {
        try await withCommittedTransaction(on: client, logger: logger) { connection in
            try await round(on: connection)
        }
    }

    private func round(on connection: PostgresConnection) async throws -> Outcome {
        var outcome = Outcome()
        try await connection.query("SET LOCAL lock_timeout = '2s'", logger: logger)
        let locked = try await connection.query("SELECT pg_try_advisory_xact_lock(\(Self.lockKey))", logger: logger).decode(Bool.self).collectAll().first ?? false
        guard locked else { return outcome }  // another instance is on it

        let table = try await connection.query(
            "SELECT c.relkind::text, pg_has_role(c.relowner, 'USAGE') FROM pg_class c WHERE c.oid = to_regclass('outbox')", logger: logger
        ).decode((String, Bool).self).collectAll().first
        guard let table, table.0 == "p" else {
            metrics.recordFailing()
            outcome.report = "outbox is not partitioned (migration 0027 not applied?): no retention"
            return outcome
        }
        guard table.1 else {
            metrics.recordFailing()
            outcome.report = "the API's database role does not own outbox: partitions are neither created nor dropped (see docs/outbox-lifecycle.md)"
            return outcome
        }

        let partitions = try await connection.query(
            """
            SELECT c.relname::text, pg_get_expr(c.relpartbound, c.oid)
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'outbox'::regclass
            """, logger: logger
        ).decode((String, String).self).collectAll().compactMap { OutboxPartition.parse(name: $0.0, boundExpression: $0.1) }
        let nowMillis = try await connection.query(
            "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::int8", logger: logger
        ).decode(Int64.self).collectAll().first ?? 0
        let acked = try await ackedProgress(connection)
        var defaultMaxID: Int64?
        if let defaultPartition = partitions.first(where: { $0.bound == .default }) {
            defaultMaxID = try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT max(id) FROM \(Self.quoted(defaultPartition.name))"), logger: logger
            ).decode(Int64?.self).collectAll().first ?? nil
        }

        let plan = planner.plan(partitions: partitions, nowMillis: nowMillis, acked: acked, defaultMaxID: defaultMaxID)
        if plan.recreateDefault, let defaultPartition = partitions.first(where: { $0.bound == .default }) {
            try await detachAndDrop(defaultPartition.name, on: connection)
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE TABLE \(Self.quoted(defaultPartition.name)) PARTITION OF outbox DEFAULT"), logger: logger)
            outcome.changes.append("recreated \(defaultPartition.name)")
        }
        for name in plan.drop {
            try await detachAndDrop(name, on: connection)
            outcome.changes.append("dropped \(name)")
        }
        for partition in plan.create {
            try await connection.query(PostgresQuery(unsafeSQL:
                "CREATE TABLE \(Self.quoted(partition.name)) PARTITION OF outbox FOR VALUES FROM (\(partition.lower)) TO (\(partition.upper))"
            ), logger: logger)
            outcome.changes.append("created \(partition.name)")
        }
        metrics.recordRound(created: plan.create.count, dropped: plan.drop.count, blocked: plan.blocked)
        if plan.blocked {
            outcome.report = "outbox retention blocked: no relay has acknowledged progress in outbox_relay_slots (acked_commit_time), so no partition is dropped"
        }
        return outcome
    }

    private func ackedProgress(_ connection: PostgresConnection) async throws -> OutboxPartitionPlanner.AckedProgress {
        let exists = try await connection.query(
            "SELECT to_regclass('outbox_relay_slots') IS NOT NULL", logger: logger
        ).decode(Bool.self).collectAll().first ?? false
        guard exists else { return .unknown }
        let row = try await connection.query(
            """
            SELECT count(*), count(acked_commit_time), (extract(epoch FROM min(acked_commit_time)) * 1000)::int8
            FROM outbox_relay_slots
            """, logger: logger
        ).decode((Int64, Int64, Int64?).self).collectAll().first
        guard let row, row.0 > 0, row.1 == row.0, let oldest = row.2 else { return .unknown }
        return .oldest(millisSince1970: oldest)
    }

    private func detachAndDrop(_ name: String, on connection: PostgresConnection) async throws {
        try await connection.query(PostgresQuery(unsafeSQL: "ALTER TABLE outbox DETACH PARTITION \(Self.quoted(name))"), logger: logger)
        try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE \(Self.quoted(name))"), logger: logger)
    }

    private func recordSize() async throws {
        let size = try await client.withConnection { connection in
            let totals = try await connection.query(
                """
                SELECT count(*), coalesce(sum(s.n_live_tup), 0)::int8, coalesce(sum(s.n_dead_tup), 0)::int8,
                       coalesce(sum(pg_total_relation_size(c.oid)), 0)::int8,
                       (extract(epoch FROM clock_timestamp()) * 1000)::int8
                FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
                WHERE i.inhparent = to_regclass('outbox')
                """, logger: logger
            ).decode((Int64, Int64, Int64, Int64, Int64).self).collectAll().first
            let oldest = try await connection.query("SELECT min(id) FROM outbox", logger: logger).decode(Int64?.self).collectAll().first ?? nil
            return (totals, oldest)
        }
        guard let totals = size.0 else { return }
        let age = size.1.map { max(0, Double(totals.4 - OutboxPartitionTime.millisSince1970(ofID: $0)) / 1000) } ?? 0
        metrics.record(.init(partitions: totals.0, liveRows: totals.1, deadRows: totals.2, bytes: totals.3, oldestRowAgeSeconds: age))
    }

    static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// The `outbox.*` keys the API's retention uses.
public struct OutboxRetentionSettings: Sendable, Equatable {
    public var retention: Duration
    public var margin: Duration
    public var partitionInterval: Duration

    public init(retention: Duration = .seconds(7 * 86_400), margin: Duration = .seconds(600), partitionInterval: Duration = .seconds(86_400)) {
        self.retention = retention
        self.margin = margin
        self.partitionInterval = partitionInterval
    }
}
