import HTTPServerLimits
import Hummingbird
import Logging
import NIOCore
import OutboxCore
import PostgresNIO
import Prometheus
import ServiceLifecycle

/// `/health`, `/metrics` (Prometheus text) and `GET /catalog/categories` on the projector's port.
enum ProjectorHTTPServer {
    static func make(
        host: String, port: Int, registry: PrometheusCollectorRegistry, postgres: PostgresClient,
        isConsuming: @escaping @Sendable () -> Bool, logger: Logger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some Service {
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        let health: @Sendable (Request, BasicRequestContext) async throws -> Response = { _, _ in
            let consuming = isConsuming()
            return json(consuming ? .ok : .serviceUnavailable, consuming ? #"{"status":"consuming"}"# : #"{"status":"starting"}"#)
        }
        router.get("/health", use: health)
        router.get("/health/ready", use: health)
        router.get("/health/live") { _, _ in json(.ok, #"{"status":"live"}"#) }
        router.get("/catalog/categories") { _, _ -> Response in
            do {
                return json(.ok, try await categoriesJSON(postgres, logger: logger))
            } catch {
                logger.warning("categories query failed", metadata: ["error": "\(error)"])
                return json(.serviceUnavailable, #"{"type":"about:blank","title":"Read model unavailable","status":503}"#, contentType: "application/problem+json")
            }
        }
        return Application(
            router: router,
            server: .http1(limits: .observability),
            configuration: .init(address: .hostname(host, port: port), serverName: "catalog-projector"),
            onServerRunning: onServerRunning,
            logger: logger)
    }

    /// `[{"category":"lighting","products":3,"stock":36},…]`, by category.
    static func categoriesJSON(_ postgres: PostgresClient, logger: Logger) async throws -> String {
        var writer = JSONWriter(capacity: 1024)
        writer.beginArray()
        let rows = try await postgres.query(
            "SELECT category, products, stock FROM catalog_category_stats ORDER BY category", logger: logger)
        for try await (category, products, stock) in rows.decode((String, Int64, Int64).self) {
            writer.beginObject()
            writer.key("category"); writer.string(category)
            writer.key("products"); writer.number(products)
            writer.key("stock"); writer.number(stock)
            writer.endObject()
        }
        writer.endArray()
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    private static func json(_ status: HTTPResponse.Status, _ body: String, contentType: String = "application/json") -> Response {
        Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
