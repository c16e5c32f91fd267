import HTTPServerLimits

/// What the API needs from the shared configuration (mapped from `OutboxConfiguration` by the
/// executable, built directly by tests).
public struct ProductsAPISettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// Snowflake worker id, 0…1023; unique per running instance.
    public var workerID: Int
    public var idempotencyKeyTTL: Duration
    public var maxBodyBytes: Int
    /// Upper bound for any one database call made while serving a request.
    public var databaseTimeout: Duration
    public var readinessTimeout: Duration
    /// `Retry-After` seconds sent with 503 responses.
    public var retryAfterSeconds: Int
    public var idempotencyCleanupInterval: Duration
    public var poolMaxConnections: Int
    /// Most products one create statement writes (1: no batching).
    public var createBatchSize: Int
    /// Create statements running at once; the rest queue and share the next statement.
    public var createBatchConcurrency: Int
    /// Header, body and idle timeouts, connection cap and head size of the HTTP server.
    public var httpLimits: HTTPServerLimits
    /// `outbox.retention`, `.retention_margin`, `.partition_interval`.
    public var outboxRetention: OutboxRetentionSettings
    /// Run ``OutboxPartitionService`` (partitions ahead, retention, outbox size metrics).
    public var maintainOutboxPartitions: Bool

    public init(
        host: String = "0.0.0.0",
        port: Int = 3000,
        workerID: Int = 0,
        idempotencyKeyTTL: Duration = .seconds(24 * 3600),
        maxBodyBytes: Int = 65_536,
        databaseTimeout: Duration = .seconds(5),
        readinessTimeout: Duration = .seconds(1),
        retryAfterSeconds: Int = 2,
        idempotencyCleanupInterval: Duration = .seconds(300),
        poolMaxConnections: Int = 20,
        createBatchSize: Int = 100,
        createBatchConcurrency: Int = 1,
        httpLimits: HTTPServerLimits = HTTPServerLimits(),
        outboxRetention: OutboxRetentionSettings = OutboxRetentionSettings(),
        maintainOutboxPartitions: Bool = true
    ) {
        self.outboxRetention = outboxRetention
        self.maintainOutboxPartitions = maintainOutboxPartitions
        self.host = host
        self.port = port
        self.workerID = workerID
        self.idempotencyKeyTTL = idempotencyKeyTTL
        self.maxBodyBytes = maxBodyBytes
        self.databaseTimeout = databaseTimeout
        self.readinessTimeout = readinessTimeout
        self.retryAfterSeconds = retryAfterSeconds
        self.idempotencyCleanupInterval = idempotencyCleanupInterval
        self.poolMaxConnections = poolMaxConnections
        self.createBatchSize = createBatchSize
        self.createBatchConcurrency = createBatchConcurrency
        self.httpLimits = httpLimits
    }
}
