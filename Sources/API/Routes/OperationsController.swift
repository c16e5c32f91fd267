import Hummingbird
import NIOCore

/// `/health/live`, `/health/ready` and `/metrics`.
struct OperationsController: Sendable {
    let store: ProductStore
    let readinessTimeout: Duration
    let metrics: APIMetrics

    func register(on router: Router<APIRequestContext>, routes: RouteTable) {
        router.get("/health/live", use: live)
        router.get("/health/ready", use: ready)
        router.get("/metrics", use: exposition)
        routes.add("/health/live", method: "GET")
        routes.add("/health/ready", method: "GET")
        routes.add("/metrics", method: "GET")
    }

    @Sendable func live(request: Request, context: APIRequestContext) async throws -> Response {
        ProductController.jsonResponse(status: .ok, body: ByteBuffer(string: #"{"status":"ok"}"#))
    }

    @Sendable func ready(request: Request, context: APIRequestContext) async throws -> Response {
        guard await store.ping(timeout: readinessTimeout, logger: context.logger) else {
            throw APIError.databaseUnavailable(retryAfterSeconds: store.retryAfterSeconds, underlying: nil)
        }
        return ProductController.jsonResponse(status: .ok, body: ByteBuffer(string: #"{"status":"ready","database":"ok"}"#))
    }

    @Sendable func exposition(request: Request, context: APIRequestContext) async throws -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition()))
        )
    }
}
