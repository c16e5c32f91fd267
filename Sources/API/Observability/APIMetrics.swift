import Prometheus
import Synchronization

/// The API's Prometheus metrics, on a registry owned by the application (not the global
/// MetricsSystem), so several applications — as in tests — never share counters.
public final class APIMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let databaseInFlight: Gauge
    private let poolMaxConnections: Gauge
    private let createBatchSize: ValueHistogram
    private let idempotentReplays: Counter
    private let expiredKeysDeleted: Counter
    private static let latencyBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), poolMaxConnections: Int) {
        self.registry = registry
        self.databaseInFlight = registry.makeGauge(
            descriptor: .init(metricName: "api_db_operations_in_flight", unitName: "", helpText: "Database operations in progress (approximates pool connections in use)")
        )
        self.poolMaxConnections = registry.makeGauge(
            descriptor: .init(metricName: "api_db_pool_max_connections", unitName: "", helpText: "Configured maximum size of the Postgres connection pool")
        )
        self.poolMaxConnections.set(Double(poolMaxConnections))
        self.createBatchSize = registry.makeValueHistogram(
            descriptor: .init(metricName: "api_create_batch_size", unitName: "", helpText: "Products written per create statement"),
            buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256]
        )
        self.idempotentReplays = registry.makeCounter(
            descriptor: .init(metricName: "api_idempotent_replays", unitName: "total", helpText: "Creates answered from a stored idempotent response")
        )
        self.expiredKeysDeleted = registry.makeCounter(
            descriptor: .init(metricName: "api_idempotency_keys_expired_deleted", unitName: "total", helpText: "Expired idempotency keys removed by the cleanup task")
        )
    }

    func recordCreateBatch(size: Int) {
        createBatchSize.record(Double(size))
    }

    private struct RequestSeries: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    /// Handles per label set, so a request does not look its series up in the registry (which
    /// validates names and hashes label arrays on every call).
    private let requestSeries = Mutex<[RequestSeries: (Counter, DurationHistogram)]>([:])

    func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        let series = RequestSeries(route: route, method: method, status: status)
        let handles = requestSeries.withLock { cache in
            if let handles = cache[series] { return handles }
            let handles = (
                registry.makeCounter(
                    descriptor: .init(metricName: "http_requests", unitName: "total", helpText: "HTTP requests by route, method and status"),
                    labels: [("route", route), ("method", method), ("status", String(status))]
                ),
                registry.makeDurationHistogram(
                    descriptor: .init(metricName: "http_request_duration", unitName: "seconds", helpText: "HTTP request latency"),
                    labels: [("route", route), ("method", method)],
                    buckets: Self.latencyBuckets
                )
            )
            cache[series] = handles
            return handles
        }
        handles.0.increment()
        handles.1.record(duration)
    }

    func databaseOperationStarted() {
        databaseInFlight.increment()
    }

    private let operationSeries = Mutex<[String: DurationHistogram]>([:])

    func databaseOperationFinished(_ operation: String, duration: Duration) {
        databaseInFlight.decrement()
        let histogram = operationSeries.withLock { cache in
            if let histogram = cache[operation] { return histogram }
            let histogram = registry.makeDurationHistogram(
                descriptor: .init(metricName: "api_db_operation_duration", unitName: "seconds", helpText: "Database operation latency"),
                labels: [("operation", operation)],
                buckets: Self.latencyBuckets
            )
            cache[operation] = histogram
            return histogram
        }
        histogram.record(duration)
    }

    func recordIdempotentReplay() {
        idempotentReplays.increment()
    }

    func recordExpiredKeysDeleted(_ count: Int) {
        expiredKeysDeleted.increment(by: Int64(count))
    }

    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(8192)
        registry.emit(into: &buffer)
        return buffer
    }
}
