import Hummingbird

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// RFC 9457 `application/problem+json` body.
struct ProblemDocument: Encodable {
    var type: String
    var title: String
    var status: Int
    var detail: String
    var instance: String?
    var requestID: String?
    var errors: [FieldError]?

    private enum CodingKeys: String, CodingKey {
        case type, title, status, detail, instance, errors
        case requestID = "request_id"
    }

    init(error: APIError, path: String?, requestID: String?) {
        self.type = "urn:outbox-relay:problem:\(error.code)"
        self.title = error.code.title
        self.status = Int(error.code.status.code)
        self.detail = error.detail
        self.instance = path
        self.requestID = requestID
        self.errors = error.fieldErrors.isEmpty ? nil : error.fieldErrors
    }

    static let mediaType = "application/problem+json"
}

extension APIError {
    /// The problem response; encoding a fixed-shape struct of strings cannot realistically fail,
    /// but if it did the client still gets the status and a minimal body.
    func response(path: String?, requestID: String?) -> Response {
        let document = ProblemDocument(error: self, path: path, requestID: requestID)
        var headers = self.headers
        headers[.contentType] = ProblemDocument.mediaType
        let body = (try? JSONEncoder().encode(document)).map { ByteBuffer(bytes: $0) } ?? ByteBuffer(string: "{}")
        return Response(status: code.status, headers: headers, body: .init(byteBuffer: body))
    }
}
