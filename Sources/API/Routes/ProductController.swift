import OutboxCore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `POST /products`, `GET /products/{id}`, `GET /products`.
struct ProductController: Sendable {
    static let idempotencyKeyHeader = HTTPField.Name("Idempotency-Key")!
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!
    static let traceparentHeader = HTTPField.Name("traceparent")!
    static let defaultPageSize = 20
    static let maxPageSize = 100

    let store: ProductStore
    let ids: SnowflakeGenerator
    let settings: ProductsAPISettings
    let metrics: APIMetrics?

    func register(on router: Router<APIRequestContext>, routes: RouteTable) {
        router.post("/products", use: create)
        router.get("/products/{id}", use: show)
        router.get("/products", use: list)
        routes.add("/products", method: "POST")
        routes.add("/products/{id}", method: "GET")
        routes.add("/products", method: "GET")
    }

    // MARK: POST /products

    @Sendable func create(request: Request, context: APIRequestContext) async throws -> Response {
        try Self.requireJSONContentType(request)
        if let length = request.headers[.contentLength].flatMap(Int.init), length > settings.maxBodyBytes {
            throw APIError(.payloadTooLarge, detail: "The request body must be at most \(settings.maxBodyBytes) bytes.")
        }
        let key = try idempotencyKey(request)
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: settings.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw APIError(.payloadTooLarge, detail: "The request body must be at most \(settings.maxBodyBytes) bytes.")
        }
        let json: JSONValue
        do {
            json = try JSONParser.parse(Array(buffer.readableBytesView))
        } catch {
            throw APIError(.malformedJSON, detail: "The body is not valid JSON: \(error).")
        }
        let draft: ProductDraft
        switch ProductValidator.validate(json) {
        case .success(let valid): draft = valid
        case .failure(let failure):
            throw APIError(.validationFailed, detail: "The product has invalid fields.", fieldErrors: failure.errors)
        }

        let productID: SnowflakeID
        let eventID: SnowflakeID
        do {
            productID = try ids.next()
            eventID = try ids.next()
        } catch {
            throw APIError.internalError(underlying: error)
        }
        let product = Product(id: productID, draft: draft, createdAtMillis: productID.millisecondsSince1970)
        // A new product was created and updated at the same instant; format it once.
        let createdAtText = ISO8601Timestamp.format(millisecondsSince1970: product.createdAtMillis)
        let responseBody = product.jsonBytes(createdAtText: createdAtText, updatedAtText: createdAtText)
        let payload = ProductCreatedEvent.payloadBytes(eventID: eventID, product: product, productJSON: responseBody, occurredAtText: createdAtText)
        let parameters = CreateProductParameters(
            product: product, eventID: eventID,
            payload: String(decoding: payload, as: UTF8.self), headers: OutboxHeaders(request: request).jsonText,
            createdAtText: createdAtText
        )
        let claim = key.map {
            ProductStore.IdempotencyClaim(
                key: $0.value, fingerprint: RequestFingerprint.canonicalBytes(of: json),
                responseBody: String(decoding: responseBody, as: UTF8.self), ttl: settings.idempotencyKeyTTL
            )
        }

        switch try await store.create(parameters: parameters, idempotency: claim, logger: context.logger) {
        case .created:
            return Self.jsonResponse(status: .created, body: ByteBuffer(bytes: responseBody), location: productID.rawValue)
        case .replayed(let statusCode, let body, let resourceID):
            metrics?.recordIdempotentReplay()
            var response = Self.jsonResponse(
                status: HTTPResponse.Status(code: statusCode), body: ByteBuffer(string: body), location: resourceID
            )
            response.headers[Self.replayedHeader] = "true"
            return response
        case .keyReused:
            throw APIError(
                .idempotencyKeyReused,
                detail: "This Idempotency-Key was already used with a different request body.",
                fieldErrors: [FieldError(field: "Idempotency-Key", message: "was used with a different request body")]
            )
        }
    }

    private func idempotencyKey(_ request: Request) throws(APIError) -> IdempotencyKey? {
        guard let header = request.headers[Self.idempotencyKeyHeader] else { return nil }
        guard let key = IdempotencyKey(header) else {
            throw APIError(
                .malformedRequest,
                detail: "The Idempotency-Key header is invalid.",
                fieldErrors: [FieldError(field: "Idempotency-Key", message: "must be 1–255 printable ASCII characters")]
            )
        }
        return key
    }

    /// `application/json` or any `application/*+json`, parameters (charset) allowed.
    static func requireJSONContentType(_ request: Request) throws(APIError) {
        let value = request.headers[.contentType] ?? ""
        if value == "application/json" { return }  // the common case, without allocating
        let mediaType = value.split(separator: ";", maxSplits: 1).first.map {
            String($0.filter { $0 != " " && $0 != "\t" }).lowercased()
        } ?? ""
        guard mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json")) else {
            throw APIError(
                .unsupportedMediaType,
                detail: value.isEmpty ? "Send the body as application/json." : "Content type '\(mediaType)' is not supported; send application/json."
            )
        }
    }

    // MARK: GET /products/{id}

    @Sendable func show(request: Request, context: APIRequestContext) async throws -> Response {
        let raw = context.parameters.get("id") ?? ""
        guard let id = Int64(raw), id > 0 else {
            throw APIError(.notFound, detail: "No product with id '\(raw)'.")
        }
        guard let product = try await store.product(id: id, logger: context.logger) else {
            throw APIError(.notFound, detail: "No product with id \(id).")
        }
        return Self.jsonResponse(status: .ok, body: ByteBuffer(bytes: product.jsonBytes))
    }

    // MARK: GET /products

    @Sendable func list(request: Request, context: APIRequestContext) async throws -> Response {
        var errors: [FieldError] = []
        var limit = Self.defaultPageSize
        if let raw = request.uri.queryParameters["limit"] {
            if let value = Int(String(raw)), (1...Self.maxPageSize).contains(value) {
                limit = value
            } else {
                errors.append(FieldError(field: "limit", message: "must be an integer from 1 to \(Self.maxPageSize)"))
            }
        }
        var after: Int64 = 0
        if let raw = request.uri.queryParameters["after"] {
            if let value = Int64(String(raw)), value >= 0 {
                after = value
            } else {
                errors.append(FieldError(field: "after", message: "must be a product id (a non-negative integer)"))
            }
        }
        guard errors.isEmpty else {
            throw APIError(.validationFailed, detail: "Invalid query parameters.", fieldErrors: errors)
        }
        // One extra row tells whether another page exists.
        let rows = try await store.products(after: after, limit: limit + 1, logger: context.logger)
        let page = Array(rows.prefix(limit))
        let next = rows.count > limit ? page.last.map { $0.id.description } : nil
        return Self.jsonResponse(status: .ok, body: ByteBuffer(bytes: ProductPage(items: page, next: next).jsonBytes))
    }

    // MARK: responses

    static func jsonResponse(status: HTTPResponse.Status, body: ByteBuffer, location: Int64? = nil) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let location { headers[.location] = "/products/\(location)" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }
}

/// `GET /products` body: a page plus the cursor for the next one (`null` on the last page).
struct ProductPage {
    var items: [Product]
    var next: String?

    var jsonBytes: [UInt8] {
        var writer = JSONWriter(capacity: 64 + items.count * 300)
        writer.beginObject()
        writer.key("items")
        writer.beginArray()
        for item in items { item.writeJSON(into: &writer) }
        writer.endArray()
        writer.key("next"); writer.string(next)
        writer.endObject()
        return writer.bytes
    }
}

/// The outbox row's `headers` column: metadata the relay forwards as message properties.
struct OutboxHeaders {
    var traceparent: String?

    init(request: Request) {
        self.traceparent = request.headers[ProductController.traceparentHeader].flatMap(TraceParent.init)?.value
    }

    var jsonText: String {
        guard let traceparent else { return "{}" }
        var writer = JSONWriter(capacity: 80)
        writer.beginObject()
        writer.key("traceparent"); writer.string(traceparent)
        writer.endObject()
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
