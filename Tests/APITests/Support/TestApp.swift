import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
@testable import API

/// Builds the API's router over a ``TestDatabase`` and runs a HummingbirdTesting client on it.
enum TestApp {
    static func settings(
        idempotencyKeyTTL: Duration = .seconds(3600),
        databaseTimeout: Duration = .seconds(3)
    ) -> ProductsAPISettings {
        ProductsAPISettings(
            host: "127.0.0.1", port: 0, workerID: 7, idempotencyKeyTTL: idempotencyKeyTTL,
            databaseTimeout: databaseTimeout, readinessTimeout: .seconds(10), retryAfterSeconds: 2
        )
    }

    static func application(
        database: TestDatabase, settings: ProductsAPISettings = settings(),
        clock: @escaping SnowflakeGenerator.Clock = SnowflakeGenerator.systemClock
    ) throws -> some ApplicationProtocol {
        try applicationAndStore(database: database, settings: settings, clock: clock).application
    }

    /// The application and its store, for tests that watch the store's create batching. Without
    /// `writers`, creates without a key run on the pool's batcher (the API's path under TLS).
    static func applicationAndStore(
        database: TestDatabase, settings: ProductsAPISettings = settings(),
        clock: @escaping SnowflakeGenerator.Clock = SnowflakeGenerator.systemClock,
        writers: Bool = true
    ) throws -> (application: some ApplicationProtocol, store: ProductStore) {
        let metrics = APIMetrics(poolMaxConnections: settings.poolMaxConnections)
        let store = ProductStore(
            client: database.client, queryTimeout: settings.databaseTimeout, retryAfterSeconds: settings.retryAfterSeconds, metrics: metrics,
            createBatchSize: settings.createBatchSize, createBatchConcurrency: settings.createBatchConcurrency,
            writerConnection: writers ? database.writerConnection : nil
        )
        database.cleanup.add { await store.close() }
        let router = ProductsAPI.makeRouter(settings: settings, store: store, ids: try SnowflakeGenerator(workerID: settings.workerID, clock: clock), metrics: metrics)
        return (Application(router: router), store)
    }

    static func json(_ object: [String: Any]) -> ByteBuffer {
        ByteBuffer(bytes: (try? JSONSerialization.data(withJSONObject: object)) ?? Data())
    }

    static let jsonHeaders: HTTPFields = [.contentType: "application/json"]

    static func headers(_ extra: [(String, String)]) -> HTTPFields {
        var fields = jsonHeaders
        for (name, value) in extra { if let name = HTTPField.Name(name) { fields[name] = value } }
        return fields
    }

    static func object(_ body: ByteBuffer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
    }
}
