import Prometheus

/// The inbox's Prometheus metrics on one registry, labelled by subscription.
public final class InboxMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let processed: Counter
    public let duplicatesSkipped: Counter
    public let redeliveries: Counter
    public let deadLettered: Counter
    public let transactions: Counter
    public let handlerLatency: DurationHistogram
    /// Seconds between the message's publish time and the commit of its effect (last commit).
    public let lagSeconds: Gauge
    public let inFlight: Gauge

    public init(subscription: String, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        let labels = [("subscription", subscription)]
        processed = registry.makeCounter(descriptor: Self.named("inbox_messages_processed_total", "Messages whose effect was committed for the first time"), labels: labels)
        duplicatesSkipped = registry.makeCounter(descriptor: Self.named("inbox_duplicates_skipped_total", "Messages already in the inbox table, acknowledged without running the handler"), labels: labels)
        redeliveries = registry.makeCounter(descriptor: Self.named("inbox_redeliveries_total", "Handler failures retried after a backoff"), labels: labels)
        deadLettered = registry.makeCounter(descriptor: Self.named("inbox_dead_lettered_total", "Messages published to the dead-letter topic and acknowledged"), labels: labels)
        transactions = registry.makeCounter(descriptor: Self.named("inbox_transactions_total", "Committed inbox transactions (several messages each under load)"), labels: labels)
        handlerLatency = registry.makeDurationHistogram(
            descriptor: Self.named("inbox_handler_latency_seconds", "Time the handler took for one transaction's new messages"),
            labels: labels,
            buckets: [
                .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
            ])
        lagSeconds = registry.makeGauge(descriptor: Self.named("inbox_lag_seconds", "Publish time to commit of the last committed message"), labels: labels)
        inFlight = registry.makeGauge(descriptor: Self.named("inbox_in_flight", "Messages received and not yet acknowledged"), labels: labels)
    }

    private static func named(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
