import Logging
import NIOCore
import NIOPosix
import OutboxCore
import PostgresNIO

/// All database access of the API. Every call is bounded by `queryTimeout` and reports an
/// unreachable database as ``APIError/Code/databaseUnavailable`` (503), anything else as an
/// internal error whose cause is logged but not returned.
public struct ProductStore: Sendable {
    public enum CreateOutcome: Sendable, Equatable {
        case created
        /// The key was used before with the same request: the stored response.
        case replayed(statusCode: Int, body: String, resourceID: Int64?)
        /// The key was used before with a different request.
        case keyReused
    }

    public struct IdempotencyClaim: Sendable {
        public var key: String
        public var fingerprint: [UInt8]
        public var responseBody: String
        public var ttl: Duration
    }

    let client: PostgresClient
    let queryTimeout: Duration
    let retryAfterSeconds: Int
    let metrics: APIMetrics?
    /// Batches creates when they run on the pool (no writer connections configured).
    let batcher: CreateBatcher
    /// A connection of its own per event loop for creates without an Idempotency-Key.
    let writers: CreateWriters?
    /// `outbox.retention` 0: every create deletes its outbox row again in its own transaction.
    let deleteOutboxRowsAfterInsert: Bool

    /// `createBatchSize` 1 turns batching off; `createBatchConcurrency` bounds the create
    /// statements in flight at once (the rest queue and share the next statement), per event loop
    /// when `writerConnection` is given (pipelined on the writer's connection). With
    /// `writerConnection`, creates without an Idempotency-Key run on a connection of their own per
    /// loop of `eventLoopGroup` (the group serving HTTP); everything else uses the pool `client`.
    public init(
        client: PostgresClient, queryTimeout: Duration, retryAfterSeconds: Int = 2, metrics: APIMetrics? = nil,
        createBatchSize: Int = 100, createBatchConcurrency: Int = 1,
        writerConnection: CreateWriterSettings? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        deleteOutboxRowsAfterInsert: Bool = false
    ) {
        self.deleteOutboxRowsAfterInsert = deleteOutboxRowsAfterInsert
        self.client = client
        self.queryTimeout = queryTimeout
        self.retryAfterSeconds = retryAfterSeconds
        self.metrics = metrics
        let batchSize = max(1, createBatchSize)
        let concurrency = max(1, createBatchConcurrency)
        self.batcher = CreateBatcher(maximumBatchSize: batchSize, maximumConcurrentBatches: concurrency)
        self.writers = writerConnection.map { settings in
            var settings = settings
            settings.deleteOutboxRowsAfterInsert = deleteOutboxRowsAfterInsert
            // A connection that cannot be opened within the query timeout counts as unavailable,
            // and Postgres itself ends a statement that runs longer (a lock wait, say), so a
            // timed-out create is rolled back rather than left to commit after its 503.
            settings.connectTimeout = queryTimeout
            settings.runtimeParameters.append(.init(name: "statement_timeout", value: "\(queryTimeout.positiveMilliseconds)"))
            // The server's statement_timeout ends a slow statement; this later client-side limit
            // only catches a server or network that stopped answering.
            return CreateWriters(
                eventLoopGroup: eventLoopGroup, settings: settings, maximumBatchSize: batchSize,
                maximumConcurrentStatements: concurrency, statementTimeout: queryTimeout + .seconds(1),
                retryAfterSeconds: retryAfterSeconds, metrics: metrics
            )
        }
    }

    /// Closes the writers' connections (the pool is closed by its own service).
    public func close() async {
        writers?.close()
    }

    func create(
        parameters: CreateProductParameters,
        idempotency: IdempotencyClaim?,
        logger: Logger
    ) async throws(APIError) -> CreateOutcome {
        guard let idempotency else {
            if let writer = writers?.current() {
                try await writer.create(parameters, logger: logger).get()
            } else {
                try await batcher.create(parameters) { items in await createBatch(items, logger: logger) }.get()
            }
            return .created
        }
        let fingerprint = ByteBuffer(bytes: idempotency.fingerprint)
        let ttlMilliseconds = idempotency.ttl.positiveMilliseconds
        // A key can expire between the failed claim and the lookup; then claim it again (bounded).
        for _ in 0..<3 {
            let statement = CreateProductWithKeyStatement(
                parameters: parameters, key: idempotency.key, fingerprint: fingerprint,
                responseBody: idempotency.responseBody, ttlMilliseconds: ttlMilliseconds
            )
            let inserted = try await runCommitted("create_product_idempotent", logger: logger) { [deleteOutboxRowsAfterInsert] connection in
                let inserted = try await connection.execute(statement, logger: logger).collectAll().first ?? 0
                if deleteOutboxRowsAfterInsert, inserted == 1 {
                    try await Self.deleteOutboxRows([parameters.eventID.rawValue], on: connection, logger: logger)
                }
                return inserted
            }
            if inserted == 1 { return .created }
            let lookup = LookupIdempotencyKeyStatement(key: idempotency.key, fingerprint: fingerprint)
            let stored = try await run("lookup_idempotency_key", logger: logger) { client in
                try await client.execute(lookup).collectAll().first
            }
            guard let stored, stored.isLive else { continue }
            guard stored.sameRequest else { return .keyReused }
            guard let status = stored.statusCode, let body = stored.responseBody else {
                throw APIError.internalError(underlying: UnexpectedRowCount(count: 0))
            }
            return .replayed(statusCode: status, body: body, resourceID: stored.resourceID)
        }
        throw APIError.databaseUnavailable(retryAfterSeconds: retryAfterSeconds, underlying: nil)
    }

    /// One statement for the whole batch, on the pool (the writers batch their own). If it fails
    /// for a reason other than an unreachable database (a constraint, a trigger), each product is
    /// retried alone, so one bad row fails only its own request.
    private func createBatch(_ items: [CreateProductParameters], logger: Logger) async -> [CreateBatcher.Outcome] {
        metrics?.recordCreateBatch(size: items.count)
        guard items.count > 1 else { return [await createOne(items[0], logger: logger)] }
        do {
            let statement = CreateProductsBatchStatement(items: items)
            let inserted = try await runCommitted("create_products_batch", logger: logger) { [deleteOutboxRowsAfterInsert] connection in
                let inserted = try await connection.execute(statement, logger: logger).collectAll().first ?? 0
                if deleteOutboxRowsAfterInsert {
                    try await Self.deleteOutboxRows(items.map(\.eventID.rawValue), on: connection, logger: logger)
                }
                return inserted
            }
            guard inserted == Int64(items.count) else {
                return Array(repeating: .failure(.internalError(underlying: UnexpectedRowCount(count: inserted))), count: items.count)
            }
            return Array(repeating: .success(()), count: items.count)
        } catch where error.code == .databaseUnavailable {
            return Array(repeating: .failure(error), count: items.count)
        } catch {
            var outcomes: [CreateBatcher.Outcome] = []
            outcomes.reserveCapacity(items.count)
            for item in items { outcomes.append(await createOne(item, logger: logger)) }
            return outcomes
        }
    }

    private func createOne(_ parameters: CreateProductParameters, logger: Logger) async -> CreateBatcher.Outcome {
        do {
            let statement = CreateProductStatement(parameters: parameters)
            let inserted = try await runCommitted("create_product", logger: logger) { [deleteOutboxRowsAfterInsert] connection in
                let inserted = try await connection.execute(statement, logger: logger).collectAll().first ?? 0
                if deleteOutboxRowsAfterInsert {
                    try await Self.deleteOutboxRows([parameters.eventID.rawValue], on: connection, logger: logger)
                }
                return inserted
            }
            guard inserted == 1 else { return .failure(.internalError(underlying: UnexpectedRowCount(count: inserted))) }
            return .success(())
        } catch {
            return .failure(error)
        }
    }

    func product(id: Int64, logger: Logger) async throws(APIError) -> Product? {
        try await run("fetch_product", logger: logger) { client in
            try await client.execute(FetchProductStatement(id: id)).collectAll().first
        }
    }

    func products(after: Int64, limit: Int, logger: Logger) async throws(APIError) -> [Product] {
        try await run("list_products", logger: logger) { client in
            try await client.execute(ListProductsStatement(after: after, limit: Int64(limit))).collectAll()
        }
    }

    /// A trivial query: is the database reachable within `timeout`?
    public func ping(timeout: Duration, logger: Logger) async -> Bool {
        do {
            _ = try await withDeadline(timeout) { [client] in
                try await client.query("SELECT 1", logger: logger).collect().count
            }
            return true
        } catch {
            logger.debug("readiness check failed", metadata: ["error": "\(String(reflecting: error))"])
            return false
        }
    }

    /// Deletes expired idempotency keys in batches; returns how many went.
    public func deleteExpiredIdempotencyKeys(batchSize: Int = 5_000, logger: Logger) async throws(APIError) -> Int {
        var total = 0
        while true {
            let deleted = try await runCommitted("delete_expired_keys", logger: logger) { connection in
                let rows = try await connection.query(
                    """
                    WITH d AS (
                      DELETE FROM idempotency_keys WHERE key IN (
                        SELECT key FROM idempotency_keys WHERE expires_at <= now() LIMIT \(Int64(batchSize))
                      ) RETURNING 1
                    ) SELECT count(*) FROM d
                    """,
                    logger: logger
                )
                var count: Int64 = 0
                for try await row in rows.decode(Int64.self) { count = row }
                return Int(count)
            }
            total += deleted
            if deleted < batchSize { return total }
        }
    }

    /// In the create's transaction, after its insert (see ``DeleteOutboxRowsStatement``).
    private static func deleteOutboxRows(_ ids: [Int64], on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.execute(DeleteOutboxRowsStatement(eventIDs: ids), logger: logger).collectAll()
    }

    // MARK: execution

    /// A write on the pool: like ``run(_:logger:_:)``, but `body` runs in an explicit transaction
    /// and this returns only after its `COMMIT` completed (see ``withCommittedTransaction``), so
    /// what the API reports as written is committed.
    private func runCommitted<T: Sendable>(
        _ operation: String,
        logger: Logger,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws(APIError) -> T {
        try await run(operation, logger: logger) { client in
            try await withCommittedTransaction(on: client, logger: logger, body)
        }
    }

    /// A pool operation, bounded by the query timeout: its latency is recorded and its failure
    /// mapped to the API's errors.
    private func run<T: Sendable>(
        _ operation: String,
        logger: Logger,
        _ body: @escaping @Sendable (PostgresClient) async throws -> T
    ) async throws(APIError) -> T {
        let started = ContinuousClock.now
        metrics?.databaseOperationStarted()
        defer { metrics?.databaseOperationFinished(operation, duration: ContinuousClock.now - started) }
        do {
            return try await withDeadline(queryTimeout) { [client] in try await body(client) }
        } catch {
            throw DatabaseErrorClassifier.report(error, operation: operation, retryAfterSeconds: retryAfterSeconds, logger: logger)
        }
    }
}

struct UnexpectedRowCount: Error, CustomStringConvertible {
    var count: Int64
    var description: String { "create statement reported \(count) outbox rows, expected one per product" }
}
