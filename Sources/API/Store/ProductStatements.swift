import NIOCore
import PostgresNIO

/// Columns every product read returns, in the order ``ProductRow`` decodes them. Timestamps come
/// back as integer milliseconds and the price as `numeric` text, so nothing is rounded on the way.
enum ProductColumns {
    static let select = """
        id, name, description, price::text, stock, category,
        (extract(epoch FROM created_at) * 1000)::int8, (extract(epoch FROM updated_at) * 1000)::int8
        """
}

typealias ProductRowTuple = (Int64, String, String?, String, Int32, String?, Int64, Int64)

struct ProductRowDecodingError: Error, CustomStringConvertible {
    var column: String
    var value: String
    var description: String { "unexpected \(column) value '\(value)' in products row" }
}

extension Product {
    init(row: ProductRowTuple) throws {
        guard let price = Price(databaseText: row.3) else { throw ProductRowDecodingError(column: "price", value: row.3) }
        self.init(
            id: SnowflakeID(rawValue: row.0), name: row.1, description: row.2, price: price, stock: row.4,
            category: row.5, createdAtMillis: row.6, updatedAtMillis: row.7
        )
    }
}

/// The parameters shared by both create statements: the product row and its outbox event.
struct CreateProductParameters: Sendable {
    var product: Product
    var eventID: SnowflakeID
    var payload: String
    var headers: String
    /// `product.createdAtMillis` as ISO-8601, formatted once for the row and both JSON documents.
    var createdAtText: String

    func append(to bindings: inout PostgresBindings) {
        bindings.append(product.id.rawValue)
        bindings.append(product.name)
        bindings.append(product.description)
        bindings.append(product.price.description)
        bindings.append(product.stock)
        bindings.append(product.category)
        bindings.append(createdAtText)
        bindings.append(eventID.rawValue)
        bindings.append(payload)
        bindings.append(headers)
    }

    static let bindingDataTypes: [PostgresDataType] = [.int8, .text, .text, .text, .int4, .text, .text, .int8, .text, .text]
}

/// Product + outbox event in one statement, so atomic: any failure, in either insert, leaves
/// neither row. The pool runs it inside an explicit transaction and reports it only after the
/// `COMMIT` (``withCommittedTransaction``). Its one row counts the outbox rows written.
struct CreateProductStatement: PostgresPreparedStatement {
    static let name = "outbox_api_create_product_v1"
    static let sql = """
        WITH p AS (
          INSERT INTO products (id, name, description, price, stock, category, created_at, updated_at)
          VALUES ($1, $2, $3, $4::numeric, $5, $6, $7::timestamptz, $7::timestamptz)
          RETURNING id
        ), o AS (
          INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, headers, created_at)
          SELECT $8, 'product', p.id::text, 'product.created', $9::jsonb, $10::jsonb, $7::timestamptz FROM p
          RETURNING id
        )
        SELECT count(*) FROM o
        """
    static var bindingDataTypes: [PostgresDataType] { CreateProductParameters.bindingDataTypes }

    typealias Row = Int64
    var parameters: CreateProductParameters

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 10)
        parameters.append(to: &bindings)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Int64 { try row.decode(Int64.self) }
}

/// Many products and their events in one statement, so one commit. `unnest` yields the arrays'
/// elements in order, so rows are inserted (and their events reach the WAL) in request order.
/// Optional texts travel with a null mask because the arrays are bound as plain `text[]`.
struct CreateProductsBatchStatement: PostgresPreparedStatement {
    static let name = "outbox_api_create_products_batch_v2"
    static let sql = """
        WITH input AS (
          SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::bool[], $5::text[], $6::int4[], $7::text[], $8::bool[],
                               $9::text[], $10::int8[], $11::text[], $12::text[])
            AS t(id, name, description, has_description, price, stock, category, has_category,
                 created_at, event_id, payload, headers)
        ), p AS (
          INSERT INTO products (id, name, description, price, stock, category, created_at, updated_at)
          SELECT id, name, CASE WHEN has_description THEN description END, price::numeric, stock,
                 CASE WHEN has_category THEN category END, created_at::timestamptz, created_at::timestamptz
          FROM input
        ), o AS (
          INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, headers, created_at)
          SELECT event_id, 'product', id::text, 'product.created', payload::jsonb, headers::jsonb, created_at::timestamptz
          FROM input
          RETURNING 1
        )
        SELECT count(*) FROM o
        """
    static var bindingDataTypes: [PostgresDataType] {
        [.int8Array, .textArray, .textArray, .boolArray, .textArray, .int4Array, .textArray, .boolArray,
         .textArray, .int8Array, .textArray, .textArray]
    }

    typealias Row = Int64
    var items: [CreateProductParameters]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 12)
        bindings.append(items.map { $0.product.id.rawValue })
        bindings.append(items.map { $0.product.name })
        bindings.append(items.map { $0.product.description ?? "" })
        bindings.append(items.map { $0.product.description != nil })
        bindings.append(items.map { $0.product.price.description })
        bindings.append(items.map { $0.product.stock })
        bindings.append(items.map { $0.product.category ?? "" })
        bindings.append(items.map { $0.product.category != nil })
        bindings.append(items.map(\.createdAtText))
        bindings.append(items.map { $0.eventID.rawValue })
        bindings.append(items.map { $0.payload })
        bindings.append(items.map { $0.headers })
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Int64 { try row.decode(Int64.self) }
}

extension CreateProductsBatchStatement {
    /// The parameter types the create writers prepare the statement with (``bindingDataTypes``
    /// for ``FrontendMessageEncoder``).
    static let wireParameterTypes: [FrontendMessageEncoder.ArrayType] = [
        .int8, .text, .text, .bool, .text, .int4, .text, .bool, .text, .int8, .text, .text,
    ]

    /// Bind + Execute + Sync of the prepared statement for `items`: the same twelve arrays as
    /// ``makeBindings()``, written straight into the outgoing buffer. `deleteOutboxRows`
    /// (`outbox.retention` 0): ``DeleteOutboxRowsStatement`` follows before the Sync, so in the
    /// same transaction; the count is still the insert's (its row comes first).
    static func encode(_ items: [CreateProductParameters], deleteOutboxRows: Bool = false, into buffer: inout ByteBuffer) {
        defer {
            if deleteOutboxRows {
                FrontendMessageEncoder.bindExecute(statementName: DeleteOutboxRowsStatement.name, parameterCount: 1, into: &buffer) { buffer in
                    BinaryArray.int8(items.lazy.map { $0.eventID.rawValue }, into: &buffer)
                }
            }
            FrontendMessageEncoder.sync(into: &buffer)
        }
        FrontendMessageEncoder.bindExecute(statementName: name, parameterCount: wireParameterTypes.count, into: &buffer) { buffer in
            BinaryArray.int8(items.lazy.map { $0.product.id.rawValue }, into: &buffer)
            BinaryArray.text(items.lazy.map { $0.product.name }, into: &buffer)
            BinaryArray.text(items.lazy.map { $0.product.description ?? "" }, into: &buffer)
            BinaryArray.bool(items.lazy.map { $0.product.description != nil }, into: &buffer)
            BinaryArray.text(items.lazy.map { $0.product.price.description }, into: &buffer)
            BinaryArray.int4(items.lazy.map { $0.product.stock }, into: &buffer)
            BinaryArray.text(items.lazy.map { $0.product.category ?? "" }, into: &buffer)
            BinaryArray.bool(items.lazy.map { $0.product.category != nil }, into: &buffer)
            BinaryArray.text(items.lazy.map(\.createdAtText), into: &buffer)
            BinaryArray.int8(items.lazy.map { $0.eventID.rawValue }, into: &buffer)
            BinaryArray.text(items.lazy.map(\.payload), into: &buffer)
            BinaryArray.text(items.lazy.map(\.headers), into: &buffer)
        }
    }

    /// The statement's one value: `count(*)` as a binary int8.
    static func decodeCount(_ value: ByteBuffer?) throws -> Int64 {
        guard var value, value.readableBytes == 8, let count = value.readInteger(as: Int64.self) else {
            throw WriterConnectionError(code: .unexpectedMessage, context: "the create statement returned \(value.map { "\($0.readableBytes) bytes" } ?? "no row") instead of a count")
        }
        return count
    }
}

/// Same as ``CreateProductStatement`` but claims the idempotency key first. If the key exists and
/// has not expired, nothing is inserted (count 0). A concurrent request with the same key blocks
/// on the key's unique index until the first commits, then sees the conflict: exactly one product.
/// The stored response is written in the same statement, so a committed key is never "in progress".
struct CreateProductWithKeyStatement: PostgresPreparedStatement {
    static let name = "outbox_api_create_product_with_key_v1"
    static let sql = """
        WITH k AS (
          INSERT INTO idempotency_keys AS ik
            (key, request_hash, status_code, response_body, resource_id, created_at, expires_at)
          VALUES ($11, encode(sha256($12::bytea), 'hex'), 201, $13, $1, now(), now() + $14::int8 * interval '1 millisecond')
          ON CONFLICT (key) DO UPDATE SET
            request_hash = EXCLUDED.request_hash, status_code = EXCLUDED.status_code,
            response_body = EXCLUDED.response_body, resource_id = EXCLUDED.resource_id,
            created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
          WHERE ik.expires_at <= now()
          RETURNING 1
        ), p AS (
          INSERT INTO products (id, name, description, price, stock, category, created_at, updated_at)
          SELECT $1, $2, $3, $4::numeric, $5, $6, $7::timestamptz, $7::timestamptz WHERE EXISTS (SELECT FROM k)
          RETURNING id
        ), o AS (
          INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, headers, created_at)
          SELECT $8, 'product', p.id::text, 'product.created', $9::jsonb, $10::jsonb, $7::timestamptz FROM p
          RETURNING id
        )
        SELECT count(*) FROM o
        """
    static var bindingDataTypes: [PostgresDataType] {
        CreateProductParameters.bindingDataTypes + [.text, .bytea, .text, .int8]
    }

    typealias Row = Int64
    var parameters: CreateProductParameters
    var key: String
    var fingerprint: ByteBuffer
    var responseBody: String
    var ttlMilliseconds: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 14)
        parameters.append(to: &bindings)
        bindings.append(key)
        bindings.append(fingerprint)
        bindings.append(responseBody)
        bindings.append(ttlMilliseconds)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Int64 { try row.decode(Int64.self) }
}

/// `outbox.retention` 0: the events just inserted are deleted again in the same transaction, so
/// the table stays empty while the WAL carries each insert (the relay publishes inserts only).
/// A separate statement: a data-modifying CTE of the insert's statement would not see its rows.
struct DeleteOutboxRowsStatement: PostgresPreparedStatement {
    static let name = "outbox_api_delete_outbox_rows_v1"
    static let sql = "DELETE FROM outbox WHERE id = ANY($1::int8[])"
    static var bindingDataTypes: [PostgresDataType] { [.int8Array] }
    static let wireParameterTypes: [FrontendMessageEncoder.ArrayType] = [.int8]

    typealias Row = Int64
    var eventIDs: [Int64]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(eventIDs)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Int64 { try row.decode(Int64.self) }
}

/// What is stored under an idempotency key that a create found already taken.
struct StoredIdempotentResponse: Sendable {
    var sameRequest: Bool
    var statusCode: Int?
    var responseBody: String?
    var resourceID: Int64?
    var isLive: Bool
}

struct LookupIdempotencyKeyStatement: PostgresPreparedStatement {
    static let name = "outbox_api_lookup_idempotency_key_v1"
    static let sql = """
        SELECT request_hash = encode(sha256($2::bytea), 'hex'), status_code, response_body, resource_id, expires_at > now()
        FROM idempotency_keys WHERE key = $1
        """
    static var bindingDataTypes: [PostgresDataType] { [.text, .bytea] }

    typealias Row = StoredIdempotentResponse
    var key: String
    var fingerprint: ByteBuffer

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(key)
        bindings.append(fingerprint)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> StoredIdempotentResponse {
        let (same, status, body, resource, live) = try row.decode((Bool, Int32?, String?, Int64?, Bool).self)
        return StoredIdempotentResponse(sameRequest: same, statusCode: status.map(Int.init), responseBody: body, resourceID: resource, isLive: live)
    }
}

struct FetchProductStatement: PostgresPreparedStatement {
    static let name = "outbox_api_fetch_product_v1"
    static let sql = "SELECT \(ProductColumns.select) FROM products WHERE id = $1"
    static var bindingDataTypes: [PostgresDataType] { [.int8] }

    typealias Row = Product
    var id: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(id)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Product { try Product(row: row.decode(ProductRowTuple.self)) }
}

struct ListProductsStatement: PostgresPreparedStatement {
    static let name = "outbox_api_list_products_v1"
    static let sql = "SELECT \(ProductColumns.select) FROM products WHERE id > $1 ORDER BY id LIMIT $2"
    static var bindingDataTypes: [PostgresDataType] { [.int8, .int8] }

    typealias Row = Product
    var after: Int64
    var limit: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(after)
        bindings.append(limit)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Product { try Product(row: row.decode(ProductRowTuple.self)) }
}
