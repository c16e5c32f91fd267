import HTTPTypes
import Hummingbird

/// Every failure the API reports. Rendered as an RFC 9457 problem document; `detail` is always
/// written for the client (internal causes are logged, never echoed).
public struct APIError: Error, Sendable {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case malformedJSON = "malformed-json"
            case malformedRequest = "malformed-request"
            case validationFailed = "validation-failed"
            case payloadTooLarge = "payload-too-large"
            case unsupportedMediaType = "unsupported-media-type"
            case notFound = "not-found"
            case methodNotAllowed = "method-not-allowed"
            case idempotencyKeyReused = "idempotency-key-reused"
            case databaseUnavailable = "database-unavailable"
            case internalError = "internal-error"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        public static let malformedJSON = Self(.malformedJSON)
        public static let malformedRequest = Self(.malformedRequest)
        public static let validationFailed = Self(.validationFailed)
        public static let payloadTooLarge = Self(.payloadTooLarge)
        public static let unsupportedMediaType = Self(.unsupportedMediaType)
        public static let notFound = Self(.notFound)
        public static let methodNotAllowed = Self(.methodNotAllowed)
        public static let idempotencyKeyReused = Self(.idempotencyKeyReused)
        public static let databaseUnavailable = Self(.databaseUnavailable)
        public static let internalError = Self(.internalError)

        public var description: String { base.rawValue }

        public var status: HTTPResponse.Status {
            switch base {
            case .malformedJSON, .malformedRequest: return .badRequest
            case .validationFailed, .idempotencyKeyReused: return .unprocessableContent
            case .payloadTooLarge: return .contentTooLarge
            case .unsupportedMediaType: return .unsupportedMediaType
            case .notFound: return .notFound
            case .methodNotAllowed: return .methodNotAllowed
            case .databaseUnavailable: return .serviceUnavailable
            case .internalError: return .internalServerError
            }
        }

        var title: String {
            switch base {
            case .malformedJSON: return "Malformed JSON"
            case .malformedRequest: return "Malformed request"
            case .validationFailed: return "Validation failed"
            case .payloadTooLarge: return "Request body too large"
            case .unsupportedMediaType: return "Unsupported media type"
            case .notFound: return "Not found"
            case .methodNotAllowed: return "Method not allowed"
            case .idempotencyKeyReused: return "Idempotency key reused with a different request"
            case .databaseUnavailable: return "Service temporarily unavailable"
            case .internalError: return "Internal error"
            }
        }
    }

    public var code: Code
    public var detail: String
    public var fieldErrors: [FieldError]
    /// Extra response headers (`Allow`, `Retry-After`).
    public var headers: HTTPFields
    /// What really happened, for the log only.
    public var underlying: (any Error)?

    public init(_ code: Code, detail: String, fieldErrors: [FieldError] = [], headers: HTTPFields = [:], underlying: (any Error)? = nil) {
        self.code = code
        self.detail = detail
        self.fieldErrors = fieldErrors
        self.headers = headers
        self.underlying = underlying
    }

    public static func databaseUnavailable(retryAfterSeconds: Int, underlying: (any Error)?) -> APIError {
        APIError(
            .databaseUnavailable,
            detail: "The database is not reachable right now; retry later.",
            headers: [.retryAfter: String(retryAfterSeconds)],
            underlying: underlying
        )
    }

    public static func internalError(underlying: (any Error)?) -> APIError {
        APIError(.internalError, detail: "The request could not be completed.", underlying: underlying)
    }
}
