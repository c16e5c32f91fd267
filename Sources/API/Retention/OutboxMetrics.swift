import Prometheus

/// The outbox's size and retention, on the API's registry (its /metrics), set by
/// ``OutboxPartitionService`` once per round.
public final class OutboxMetrics: Sendable {
    private let rows: Gauge
    private let deadRows: Gauge
    private let bytes: Gauge
    private let oldestRowAge: Gauge
    private let partitions: Gauge
    private let partitionsDropped: Counter
    private let partitionsCreated: Counter
    private let retentionBlocked: Gauge
    private let maintenanceFailing: Gauge

    public init(registry: PrometheusCollectorRegistry) {
        rows = registry.makeGauge(descriptor: .init(
            metricName: "outbox_rows", unitName: "", helpText: "Live rows in the outbox's partitions (pg_stat_user_tables.n_live_tup, an estimate)"))
        deadRows = registry.makeGauge(descriptor: .init(
            metricName: "outbox_dead_rows", unitName: "", helpText: "Dead tuples in the outbox's partitions (pg_stat_user_tables.n_dead_tup)"))
        bytes = registry.makeGauge(descriptor: .init(
            metricName: "outbox_bytes", unitName: "", helpText: "pg_total_relation_size summed over the outbox's partitions"))
        oldestRowAge = registry.makeGauge(descriptor: .init(
            metricName: "outbox_oldest_row_age", unitName: "seconds", helpText: "Age of the oldest outbox row, from its snowflake id (0 when empty)"))
        partitions = registry.makeGauge(descriptor: .init(
            metricName: "outbox_partitions", unitName: "", helpText: "Partitions of the outbox, default and pre-partitioning table included"))
        partitionsDropped = registry.makeCounter(descriptor: .init(
            metricName: "outbox_partitions_dropped", unitName: "total", helpText: "Outbox partitions detached and dropped by the retention"))
        partitionsCreated = registry.makeCounter(descriptor: .init(
            metricName: "outbox_partitions_created", unitName: "total", helpText: "Outbox partitions created ahead"))
        retentionBlocked = registry.makeGauge(descriptor: .init(
            metricName: "outbox_retention_blocked", unitName: "", helpText: "1 while nothing may be dropped because no relay has acknowledged progress in outbox_relay_slots"))
        maintenanceFailing = registry.makeGauge(descriptor: .init(
            metricName: "outbox_partition_maintenance_failing", unitName: "", helpText: "1 while partition maintenance cannot run (not partitioned, not the owner, or an error)"))
    }

    struct Size: Sendable {
        var partitions: Int64
        var liveRows: Int64
        var deadRows: Int64
        var bytes: Int64
        var oldestRowAgeSeconds: Double
    }

    func record(_ size: Size) {
        partitions.set(size.partitions)
        rows.set(size.liveRows)
        deadRows.set(size.deadRows)
        bytes.set(size.bytes)
        oldestRowAge.set(size.oldestRowAgeSeconds)
    }

    func recordRound(created: Int, dropped: Int, blocked: Bool) {
        if created > 0 { partitionsCreated.increment(by: Int64(created)) }
        if dropped > 0 { partitionsDropped.increment(by: Int64(dropped)) }
        retentionBlocked.set(blocked ? Int64(1) : Int64(0))
        maintenanceFailing.set(Int64(0))
    }

    func recordFailing() {
        maintenanceFailing.set(Int64(1))
    }
}
