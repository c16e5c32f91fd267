import Prometheus

/// The relay's Prometheus metrics, created on one registry (served at `/metrics`).
///
/// Built directly on a `PrometheusCollectorRegistry` instead of the process-wide `MetricsSystem`,
/// so each relay (and each test) has its own figures.
public final class RelayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let eventsPublished: Counter
    public let publishLatency: DurationHistogram
    public let inFlight: Gauge
    public let confirmedLSN: Gauge
    public let lagBytes: Gauge
    public let retainedWALBytes: Gauge
    public let reconnects: Counter
    public let dedupSkips: Counter
    public let ignoredInserts: Counter
    public let sequenceFallbacks: Counter
    public let publishFailures: Counter
    public let sessionFailures: Counter
    public let recordedLSN: Gauge
    public let progressWriteFailures: Counter

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        eventsPublished = registry.makeCounter(descriptor: Self.named("outbox_relay_events_published_total", "Outbox events acked by the broker"))
        publishLatency = registry.makeDurationHistogram(
            descriptor: Self.named("outbox_relay_publish_latency_seconds", "Time from the transaction's commit to the broker's ack"),
            buckets: [
                .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(3), .milliseconds(4),
                .milliseconds(5), .milliseconds(6), .milliseconds(8), .milliseconds(10), .milliseconds(15),
                .milliseconds(20), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
            ])
        inFlight = registry.makeGauge(descriptor: Self.named("outbox_relay_in_flight", "Events sent and not yet acked"))
        confirmedLSN = registry.makeGauge(descriptor: Self.named("outbox_relay_confirmed_lsn", "LSN last reported as flushed to the slot"))
        lagBytes = registry.makeGauge(descriptor: Self.named("outbox_relay_lag_bytes", "Server WAL end minus the confirmed LSN"))
        retainedWALBytes = registry.makeGauge(descriptor: Self.named("outbox_relay_retained_wal_bytes", "WAL held back by the slot (current LSN - restart_lsn)"))
        reconnects = registry.makeCounter(descriptor: Self.named("outbox_relay_reconnects_total", "Replication sessions started after the first"))
        dedupSkips = registry.makeCounter(descriptor: Self.named("outbox_relay_dedup_skips_total", "Events not sent again because the broker (producer sequence id) or this process (an earlier session's ack) already had them"))
        ignoredInserts = registry.makeCounter(descriptor: Self.named("outbox_relay_ignored_inserts_total", "Inserts into relations other than the outbox"))
        sequenceFallbacks = registry.makeCounter(descriptor: Self.named("outbox_relay_sequence_fallbacks_total", "Sequence ids bumped past the WAL scheme (huge transactions)"))
        publishFailures = registry.makeCounter(descriptor: Self.named("outbox_relay_publish_failures_total", "Publishes that failed for good"))
        sessionFailures = registry.makeCounter(descriptor: Self.named("outbox_relay_session_failures_total", "Replication sessions that ended with an error"))
        recordedLSN = registry.makeGauge(descriptor: Self.named("outbox_relay_recorded_lsn", "Acknowledged LSN last committed to outbox_relay_slots"))
        progressWriteFailures = registry.makeCounter(descriptor: Self.named("outbox_relay_progress_write_failures_total", "Failed writes of the acknowledged progress"))
    }

    /// `outbox_relay_events_dead_lettered_total{reason}`: rows sent to the dead-letter topic and
    /// acked there, by the error code that made them invalid.
    public func deadLettered(reason: String) -> Counter {
        registry.makeCounter(
            descriptor: Self.named("outbox_relay_events_dead_lettered_total", "Outbox rows that could not become events, acked on the dead-letter topic"),
            labels: [("reason", reason)])
    }

    /// A metric's full name as written (units already in it) and its help text.
    private static func named(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
