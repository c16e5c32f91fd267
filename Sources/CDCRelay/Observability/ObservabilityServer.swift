import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// `/metrics` (Prometheus text) and `/health`, `/health/live`, `/health/ready` on the metrics port.
public enum ObservabilityServer {
    public static func make(
        host: String = "0.0.0.0",
        port: Int,
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
            configuration: .init(address: .hostname(host, port: port), serverName: "cdc-relay"),
            onServerRunning: onServerRunning,
            logger: logger
        )
    }

    private static func healthResponse(_ health: HealthState) -> Response {
        let status = health.status
        return jsonResponse(health.isReady ? .ok : .serviceUnavailable, #"{"status":"\#(status.rawValue)"}"#)
    }

    private static func jsonResponse(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: body))
        )
    }
}
