import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1

/// Turns every thrown error into a problem response (so outer middleware always sees a status),
/// and tells "no such route" (404) from "route exists, other method" (405 + `Allow`).
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    let routes: RouteTable
    let metrics: APIMetrics?

    func handle(_ request: Request, context: APIRequestContext, next: (Request, APIRequestContext) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            let apiError = translate(error, request: request)
            if apiError.code == .internalError {
                context.logger.error("request failed", metadata: ["error": "\(String(reflecting: apiError.underlying ?? error))"])
            }
            response = apiError.response(path: request.uri.path, requestID: context.requestID)
        }
        let route = context.endpointPath.flatMap { $0 == "NotFound" ? nil : $0 } ?? "unmatched"
        metrics?.recordRequest(route: route, method: request.method.rawValue, status: Int(response.status.code), duration: ContinuousClock.now - started)
        return response
    }

    private func translate(_ error: any Error, request: Request) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case is HTTPParserError:
            // The body could not be read to its end: the client stopped mid-body or the body
            // timeout closed the connection. The client's fault (and usually nobody to answer).
            return APIError(.malformedRequest, detail: "The request could not be read.")
        case is NIOTooManyBytesError:
            return APIError(.payloadTooLarge, detail: "The request body is larger than allowed.")
        case let error as HTTPError where error.status == .notFound:
            let allowed = routes.allowedMethods(forPath: request.uri.path)
            if !allowed.isEmpty {
                return APIError(
                    .methodNotAllowed,
                    detail: "\(request.method.rawValue) is not supported here; use \(allowed.joined(separator: ", ")).",
                    headers: [.allow: allowed.joined(separator: ", ")]
                )
            }
            return APIError(.notFound, detail: "No resource at \(request.uri.path).")
        case let error as any HTTPResponseError:
            // Framework-level rejections (bad request line, too large, …): keep the status.
            return APIError(statusOf: error.status)
        default:
            return .internalError(underlying: error)
        }
    }
}

extension APIError {
    init(statusOf status: HTTPResponse.Status) {
        switch status {
        case .contentTooLarge: self.init(.payloadTooLarge, detail: "The request body is larger than allowed.")
        case .unsupportedMediaType: self.init(.unsupportedMediaType, detail: "Unsupported content type.")
        case .notFound: self.init(.notFound, detail: "Not found.")
        case .methodNotAllowed: self.init(.methodNotAllowed, detail: "Method not allowed.")
        case .serviceUnavailable: self.init(.databaseUnavailable, detail: "Service temporarily unavailable.")
        default:
            if status.kind == .clientError {
                self.init(.malformedRequest, detail: status.reasonPhrase)
            } else {
                self.init(.internalError, detail: "The request could not be completed.")
            }
        }
    }
}
