import HTTPServerLimits
import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle

/// Assembles the HTTP application: router, middleware, and the services that run beside the
/// server (the Postgres pool and the idempotency-key cleanup).
public enum ProductsAPI {
    /// The router alone (for `.router` tests and embedding).
    public static func makeRouter(
        settings: ProductsAPISettings,
        store: ProductStore,
        ids: SnowflakeGenerator,
        metrics: APIMetrics
    ) -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        let routes = RouteTable()
        // Middleware first: Hummingbird wraps each route with the middleware present when the
        // route is added.
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: ProblemMiddleware(routes: routes, metrics: metrics))
        ProductController(store: store, ids: ids, settings: settings, metrics: metrics).register(on: router, routes: routes)
        OperationsController(store: store, readinessTimeout: settings.readinessTimeout, metrics: metrics).register(on: router, routes: routes)
        return router
    }

    /// The full application. `client` must also run (it is added to the services here).
    /// `writerConnection`: where creates get connections of their own (one set per event loop);
    /// without it they run on the pool. `onServerRunning`: called with the listening channel
    /// (tests read the bound port from it).
    public static func makeApplication(
        settings: ProductsAPISettings,
        client: PostgresClient,
        writerConnection: CreateWriterSettings? = nil,
        logger: Logger,
        metrics: APIMetrics? = nil,
        clock: @escaping SnowflakeGenerator.Clock = SnowflakeGenerator.systemClock,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let metrics = metrics ?? APIMetrics(poolMaxConnections: settings.poolMaxConnections)
        let store = ProductStore(
            client: client, queryTimeout: settings.databaseTimeout, retryAfterSeconds: settings.retryAfterSeconds, metrics: metrics,
            createBatchSize: settings.createBatchSize, createBatchConcurrency: settings.createBatchConcurrency,
            writerConnection: writerConnection,
            deleteOutboxRowsAfterInsert: settings.outboxRetention.retention == .zero
        )
        let ids = try SnowflakeGenerator(workerID: settings.workerID, clock: clock)
        let router = makeRouter(settings: settings, store: store, ids: ids, metrics: metrics)
        var app = Application(
            router: router,
            server: .http1(limits: settings.httpLimits),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "products-api"),
            onServerRunning: onServerRunning,
            logger: logger
        )
        // Shut down in reverse order: the server stops taking requests before the writers close.
        app.addServices(client)
        app.addServices(
            IdempotencyKeyCleanupService(store: store, interval: settings.idempotencyCleanupInterval, logger: logger, metrics: metrics)
        )
        if settings.maintainOutboxPartitions {
            app.addServices(OutboxPartitionService(
                client: client, settings: settings.outboxRetention, logger: logger, metrics: OutboxMetrics(registry: metrics.registry)
            ))
        }
        app.addServices(StoreShutdownService(store: store))
        return app
    }
}
