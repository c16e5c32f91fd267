import HTTPTypes
import Hummingbird
import Synchronization

/// Outermost middleware: adopts the caller's `X-Request-Id` (if sane) or makes one, puts it in
/// the logger metadata and echoes it on every response, and logs one line per request.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    static let headerName = HTTPField.Name("X-Request-Id")!
    private let generator = RequestIDGenerator()

    func handle(_ request: Request, context: APIRequestContext, next: (Request, APIRequestContext) async throws -> Response) async throws -> Response {
        var context = context
        let requestID = request.headers[Self.headerName].flatMap(Self.acceptable) ?? generator.next()
        context.requestID = requestID
        context.logger[metadataKey: "request_id"] = .string(requestID)
        let started = ContinuousClock.now
        var response = try await next(request, context)
        response.headers[Self.headerName] = requestID
        let elapsed = ContinuousClock.now - started
        context.logger.info(
            "request",
            metadata: [
                "method": .string(request.method.rawValue),
                "path": .string(request.uri.path),
                "status": .stringConvertible(response.status.code),
                "duration_ms": .stringConvertible(elapsed / .milliseconds(1)),
            ]
        )
        return response
    }

    /// 1–128 visible ASCII characters; anything else is replaced by a generated id rather than
    /// copied into logs and headers.
    static func acceptable(_ value: String) -> String? {
        guard !value.isEmpty, value.utf8.count <= 128, value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        return value
    }
}

/// Short unique ids: a per-process random prefix and a counter.
final class RequestIDGenerator: Sendable {
    private let prefix: String
    private let counter = Atomic<UInt64>(0)

    init() {
        self.prefix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }

    func next() -> String {
        let value = counter.wrappingAdd(1, ordering: .relaxed).newValue
        return "\(prefix)-\(String(value, radix: 16))"
    }
}
