import Logging
import NIOCore
import PostgresNIO

/// Sorts database failures into "not reachable now" (503, retry later), "the database refused a
/// value of the request" (422: a data exception or a check the validator did not foresee; the
/// request changed nothing) and everything else (500, never detailed to the client).
enum DatabaseErrorClassifier {
    static func apiError(for error: any Error, retryAfterSeconds: Int) -> APIError {
        if let error = error as? APIError { return error }
        if isUnavailable(error) {
            return .databaseUnavailable(retryAfterSeconds: retryAfterSeconds, underlying: error)
        }
        if let state = sqlState(of: error), isRefusedValue(sqlState: state) {
            return APIError(
                .validationFailed,
                detail: "The database refused a value of this request; nothing was written.",
                fieldErrors: [FieldError(field: "", message: "a value is not storable (SQLSTATE \(state))")],
                underlying: error)
        }
        return .internalError(underlying: error)
    }

    static func sqlState(of error: any Error) -> String? {
        if let error = error as? PostgresServerError { return error.sqlState }
        if let error = error as? PSQLError, error.code == .server { return error.serverInfo?[.sqlState] }
        return nil
    }

    /// Class 22 (data exception: untranslatable character, value too long, out of range...),
    /// 23502 (not null) and 23514 (check): the request's data, not the server, is at fault.
    static func isRefusedValue(sqlState state: String) -> Bool {
        state.hasPrefix("22") || state == "23502" || state == "23514"
    }

    /// The API's error for a failed database operation, logged as a warning unless the caller was
    /// only cancelled (shutdown), which is not a database failure.
    static func report(_ error: any Error, operation: String, retryAfterSeconds: Int, logger: Logger) -> APIError {
        let mapped = apiError(for: error, retryAfterSeconds: retryAfterSeconds)
        if !(error is CancellationError) {
            logger.warning(
                "database operation failed",
                metadata: ["operation": "\(operation)", "error": "\(String(reflecting: error))", "status": "\(mapped.code.status.code)"]
            )
        }
        return mapped
    }

    static func isUnavailable(_ error: any Error) -> Bool {
        if error is DeadlineExceeded || error is WriterConnectionError { return true }
        if let error = error as? PostgresServerError { return isUnavailable(sqlState: error.sqlState) }
        guard let error = error as? PSQLError else {
            // Socket-level failures (connection refused, reset) may surface as plain NIO errors.
            return error is IOError || error is ChannelError
        }
        switch error.code {
        case .server:
            return isUnavailable(sqlState: error.serverInfo?[.sqlState] ?? "")
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed,
             .queryCancelled, .sslUnsupported, .failedToAddSSLHandler:
            return true
        default:
            return false
        }
    }

    /// 08: connection exception; 57P01-57P03: shutdown / cannot connect now; 53300: too many
    /// connections; 57014: statement timeout (the writers set one); 40001/40P01 are retryable too.
    private static func isUnavailable(sqlState state: String) -> Bool {
        state.hasPrefix("08") || ["57P01", "57P02", "57P03", "53300", "57014", "40001", "40P01"].contains(state)
    }
}
