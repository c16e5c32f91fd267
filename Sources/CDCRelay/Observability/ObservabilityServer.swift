import HTTPServerLimits
import Hummingbird
import Logging
import NIOCore
import OutboxCore
import ServiceLifecycle

/// `/metrics` (Prometheus text) and `/health`, `/health/live`, `/health/ready` on the metrics port,
/// with the fixed limits of ``HTTPServerLimits/observability`` (slow and idle clients, connections).
public enum ObservabilityServer {
    public static func make(
        host: String = "127.0.0.1",
        port: Int,
        limits: HTTPServerLimits = .observability,
        metrics: RelayMetrics,
        health: HealthState,
        logger: Logger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some Service {
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            let text = metrics.registry.emitToBuffer()
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: text))
            )
        }
        router.get("/health/live") { _, _ -> Response in
            jsonResponse(.ok, #"{"status":"live"}"#)
        }
        router.get("/health/ready") { _, _ -> Response in
            healthResponse(health)
        }
        router.get("/health") { _, _ -> Response in
            healthResponse(health)
        }
        return Application(
            router: router,
            server: .http1(limits: limits),
            configuration: .init(address: .hostname(host, port: port), serverName: "cdc-relay"),
            onServerRunning: onServerRunning,
            logger: logger
        )
    }

    /// `{"status":…,"detail":…,"dead_lettered":N}`; `detail` only when there is one.
    private static func healthResponse(_ health: HealthState) -> Response {
        var writer = JSONWriter(capacity: 128)
        writer.beginObject()
        writer.key("status")
        writer.string(health.status.rawValue)
        if let detail = health.detail {
            writer.key("detail")
            writer.string(detail)
        }
        writer.key("dead_lettered")
        writer.number(health.deadLettered)
        writer.endObject()
        return Response(
            status: health.isReady ? .ok : .serviceUnavailable,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: writer.bytes)))
    }

    private static func jsonResponse(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: body))
        )
    }
}
