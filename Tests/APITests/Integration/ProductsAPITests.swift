import TestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import API

/// The API against the real Postgres of the local stack; every test has its own schema.
@Suite(.enabled(if: StackEnvironment.shouldRun, "needs the local stack (scripts/stack env)"))
struct ProductsAPITests {
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    @Test func createStoresProductAndEventExactlyAndAtomically() async throws {
        try await TestDatabase.with { db in
            let app = try TestApp.application(database: db)
            try await app.test(.router) { client in
                let body = #"{"name":" Desk lamp ","description":"brass","price":1234567.89,"stock":12,"category":"home","created_at":"2020-01-01T00:00:00Z","extra":{"x":1}}"#
                let response = try await client.execute(
                    uri: "/products", method: .post,
                    headers: TestApp.headers([("traceparent", traceparent), ("X-Request-Id", "req-abc-1")]),
                    body: ByteBuffer(string: body)
                )
                #expect(response.status == .created)
                #expect(response.headers[.contentType] == "application/json")
                #expect(response.headers[HTTPField.Name("X-Request-Id")!] == "req-abc-1")
                let product = TestApp.object(response.body)
                let id = try #require(product["id"] as? String)
                #expect(response.headers[.location] == "/products/\(id)")
                #expect(product["name"] as? String == "Desk lamp")
                #expect(String(buffer: response.body).contains(#""price":1234567.89"#))
                #expect(product["created_at"] as? String != "2020-01-01T00:00:00Z")

                // Row and event hold the exact decimal; event ids and columns line up.
                #expect(try await db.text("price", from: "products", where: "id = \(id)") == ["1234567.89"])
                let eventRows = try await db.text("id", from: "outbox", where: "aggregate_id = '\(id)'")
                #expect(eventRows.count == 1)
                let eventID = try #require(eventRows.first ?? nil)
                #expect(try await db.text("payload->>'event_id'", from: "outbox", where: "id = \(eventID)") == [eventID])
                #expect(try await db.text("payload->'data'->'price'", from: "outbox", where: "id = \(eventID)") == ["1234567.89"])
                #expect(try await db.text("payload->>'event_type'", from: "outbox", where: "id = \(eventID)") == ["product.created"])
                #expect(try await db.text("payload->>'aggregate_type'", from: "outbox", where: "id = \(eventID)") == ["product"])
                #expect(try await db.text("payload->>'aggregate_id'", from: "outbox", where: "id = \(eventID)") == [id])
                #expect(try await db.text("event_type || '/' || aggregate_type", from: "outbox", where: "id = \(eventID)") == ["product.created/product"])
                #expect(try await db.text("headers->>'traceparent'", from: "outbox", where: "id = \(eventID)") == [traceparent])
                #expect(try await db.text("payload->'data' = $$\(String(buffer: response.body))$$::jsonb", from: "outbox", where: "id = \(eventID)") == ["true"])
                #expect(try await db.text("payload->>'occurred_at' = $$\(product["created_at"] as? String ?? "")$$", from: "outbox", where: "id = \(eventID)") == ["true"])

                // GET returns the same representation.
                let fetched = try await client.execute(uri: "/products/\(id)", method: .get)
                #expect(fetched.status == .ok)
                #expect(String(buffer: fetched.body) == String(buffer: response.body))
            }
        }
    }

    @Test func invalidTraceparentIsNotForwarded() async throws {
        try await TestDatabase.with { db in
            try await TestApp.application(database: db).test(.router) { client in
                let response = try await client.execute(
                    uri: "/products", method: .post, headers: TestApp.headers([("traceparent", "00-zz-bad")]),
                    body: ByteBuffer(string: #"{"name":"a","price":1,"stock":1}"#)
                )
                #expect(response.status == .created)
                #expect(response.headers[HTTPField.Name("X-Request-Id")!]?.isEmpty == false)
                #expect(try await db.text("headers", from: "outbox", where: "true") == ["{}"])
            }
        }
    }

    @Test func rejectedRequestsWriteNothing() async throws {
        try await TestDatabase.with { db in
            try await TestApp.application(database: db).test(.router) { client in
                let big = #"{"name":"a","price":1,"stock":1,"description":""# + String(repeating: "x", count: 70_000) + #""}"#
                let cases: [(String, HTTPFields, HTTPResponse.Status, String?)] = [
                    (#"{"name":"a","price":1,"stock":1"#, TestApp.jsonHeaders, .badRequest, nil),
                    ("not json", TestApp.jsonHeaders, .badRequest, nil),
                    (#"{"name":"","price":1,"stock":1}"#, TestApp.jsonHeaders, .unprocessableContent, "name"),
                    (#"{"name":"a","price":1.234,"stock":1}"#, TestApp.jsonHeaders, .unprocessableContent, "price"),
                    (#"{"name":"a","price":-1,"stock":1}"#, TestApp.jsonHeaders, .unprocessableContent, "price"),
                    (#"{"name":"a","price":1,"stock":-5}"#, TestApp.jsonHeaders, .unprocessableContent, "stock"),
                    (#"{"name":"a","price":1,"stock":1,"category":"\#(String(repeating: "c", count: 101))"}"#, TestApp.jsonHeaders, .unprocessableContent, "category"),
                    (#"{"name":"a","price":1,"stock":1}"#, [.contentType: "text/plain"], .unsupportedMediaType, nil),
                    (#"{"name":"a","price":1,"stock":1}"#, [:], .unsupportedMediaType, nil),
                    (big, TestApp.jsonHeaders, .contentTooLarge, nil),
                    (#"{"name":"a\u0000b","price":1,"stock":1}"#, TestApp.jsonHeaders, .unprocessableContent, "name"),
                    (#"{"name":"a","description":"x\u0000","price":1,"stock":1}"#, TestApp.jsonHeaders, .unprocessableContent, "description"),
                    (#"{"name":"a","category":"\u0000","price":1,"stock":1}"#, TestApp.jsonHeaders, .unprocessableContent, "category"),
                    // A lone surrogate is not Unicode text: Postgres could not store it either.
                    (#"{"name":"a\ud800","price":1,"stock":1}"#, TestApp.jsonHeaders, .badRequest, nil),
                    (#"{"name":"a\udc00b","price":1,"stock":1}"#, TestApp.jsonHeaders, .badRequest, nil),
                    (#"{"name":"a","price":1,"stock":1}"#, TestApp.headers([("Idempotency-Key", String(repeating: "k", count: 256))]), .badRequest, "Idempotency-Key"),
                ]
                for (body, headers, status, field) in cases {
                    let response = try await client.execute(uri: "/products", method: .post, headers: headers, body: ByteBuffer(string: body))
                    #expect(response.status == status, "\(body.prefix(60))")
                    #expect(response.headers[.contentType] == "application/problem+json")
                    let problem = TestApp.object(response.body)
                    #expect(problem["status"] as? Int == Int(status.code))
                    #expect(problem["title"] is String && problem["type"] is String)
                    if let field {
                        let errors = problem["errors"] as? [[String: Any]] ?? []
                        #expect(errors.contains { $0["field"] as? String == field && ($0["message"] as? String)?.isEmpty == false }, "\(body.prefix(60))")
                    }
                }
                #expect(try await db.count("products") == 0)
                #expect(try await db.count("outbox") == 0)
                #expect(try await db.count("idempotency_keys") == 0)
            }
        }
    }

    @Test func failureAfterProductInsertLeavesNothingBehind() async throws {
        try await TestDatabase.with { db in
            try await Self.failOutboxInsertsNamedFailAfterProduct(db)
            try await TestApp.application(database: db).test(.router) { client in
                for key in [nil, "atomic-key"] as [String?] {
                    let headers = key.map { TestApp.headers([("Idempotency-Key", $0)]) } ?? TestApp.jsonHeaders
                    let failed = try await client.execute(
                        uri: "/products", method: .post, headers: headers,
                        body: ByteBuffer(string: #"{"name":"FAIL-AFTER-PRODUCT","price":5,"stock":1}"#)
                    )
                    #expect(failed.status == .internalServerError)
                    #expect(failed.headers[.contentType] == "application/problem+json")
                    #expect(!String(buffer: failed.body).contains("forced outbox failure"))
                }
                #expect(try await db.count("products") == 0)
                #expect(try await db.count("outbox") == 0)
                #expect(try await db.count("idempotency_keys") == 0)
                let ok = try await client.execute(
                    uri: "/products", method: .post, headers: TestApp.jsonHeaders, body: ByteBuffer(string: #"{"name":"fine","price":5,"stock":1}"#)
                )
                #expect(ok.status == .created)
                #expect(try await db.count("products") == 1)
                #expect(try await db.count("outbox") == 1)
            }
        }
    }

    @Test func queuedCreatesShareOneStatementAndABadRowFailsAlone() async throws {
        try await TestDatabase.with { db in
            try await Self.failOutboxInsertsNamedFailAfterProduct(db)
            let (app, store) = try TestApp.applicationAndStore(database: db)
            // Off the event loops (as here) every create goes to the first writer.
            let writer = try #require(store.writers?.all.first)
            try await app.test(.router) { client in
                @Sendable func create(_ name: String) async throws -> (String, HTTPResponse.Status) {
                    let response = try await client.execute(
                        uri: "/products", method: .post, headers: TestApp.jsonHeaders,
                        body: ByteBuffer(string: #"{"name":"\#(name)","price":1.5,"stock":1}"#)
                    )
                    return (name, response.status)
                }
                // A table lock holds the first create inside its statement while the others queue.
                let statuses = try await db.client.withConnection { holder in
                    try await holder.query("BEGIN", logger: TestDatabase.logger).collect()
                    try await holder.query("LOCK TABLE products IN SHARE ROW EXCLUSIVE MODE", logger: TestDatabase.logger).collect()
                    return try await withThrowingTaskGroup(of: (String, HTTPResponse.Status).self) { group in
                        group.addTask { try await create("first") }
                        #expect(await waitUntil(timeout: .seconds(5)) { writer.runningStatements == 1 })
                        for index in 0..<20 {
                            let name = index == 7 ? "FAIL-AFTER-PRODUCT" : "queued-\(index)"
                            group.addTask { try await create(name) }
                        }
                        #expect(await waitUntil(timeout: .seconds(5)) { writer.queuedCount == 20 })
                        try await holder.query("COMMIT", logger: TestDatabase.logger).collect()
                        var statuses: [String: HTTPResponse.Status] = [:]
                        for try await (name, status) in group { statuses[name] = status }
                        return statuses
                    }
                }
                #expect(statuses.count == 21)
                #expect(statuses["FAIL-AFTER-PRODUCT"] == .internalServerError)
                #expect(statuses.filter { $0.key != "FAIL-AFTER-PRODUCT" }.allSatisfy { $0.value == .created })
                #expect(try await db.count("products") == 20)
                #expect(try await db.count("outbox") == 20)
                #expect(try await db.text("count(*)::text", from: "products p JOIN \(db.schema).outbox o ON o.aggregate_id = p.id::text", where: "true") == ["20"])
                #expect(try await db.count("products WHERE name = 'FAIL-AFTER-PRODUCT'") == 0)
                // One statement for the first create, one for the twenty queued behind it.
                let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
                let samples = Dictionary(metrics.split(separator: "\n").compactMap { line -> (String, Double)? in
                    let parts = line.split(separator: " ")
                    guard parts.count == 2, let value = Double(parts[1]) else { return nil }
                    return (String(parts[0]), value)
                }, uniquingKeysWith: { first, _ in first })
                #expect(samples["api_create_batch_size_count"] == 2)
                #expect(samples["api_create_batch_size_sum"] == 21)
            }
        }
    }

    /// A request cancelled while queued is not withdrawn: its create goes out in the next batch,
    /// the others in that statement get their 201, and every product is written once with its event.
    @Test func aCancelledQueuedRequestStillHasItsCreateWritten() async throws {
        try await TestDatabase.with { db in
            let (app, store) = try TestApp.applicationAndStore(database: db)
            let writer = try #require(store.writers?.all.first)
            try await app.test(.router) { client in
                @Sendable func create(_ name: String) async throws -> HTTPResponse.Status {
                    try await client.execute(
                        uri: "/products", method: .post, headers: TestApp.jsonHeaders,
                        body: ByteBuffer(string: #"{"name":"\#(name)","price":2,"stock":1}"#)
                    ).status
                }
                try await db.client.withConnection { holder in
                    try await holder.query("BEGIN", logger: TestDatabase.logger).collect()
                    try await holder.query("LOCK TABLE products IN SHARE ROW EXCLUSIVE MODE", logger: TestDatabase.logger).collect()
                    let blocked = Task { try await create("blocked") }
                    #expect(await waitUntil(timeout: .seconds(5)) { writer.runningStatements == 1 })
                    // The first queued request is cancelled before its batch goes out.
                    let leader = Task { try await create("leader") }
                    #expect(await waitUntil(timeout: .seconds(5)) { writer.queuedCount == 1 })
                    let followers = (0..<3).map { index in Task { try await create("follower-\(index)") } }
                    #expect(await waitUntil(timeout: .seconds(5)) { writer.queuedCount == 4 })
                    leader.cancel()
                    try await holder.query("COMMIT", logger: TestDatabase.logger).collect()
                    #expect(try await blocked.value == .created)
                    for follower in followers { #expect(try await follower.value == .created) }
                    _ = await leader.result
                }
                #expect(try await db.count("products") == 5)
                #expect(try await db.count("outbox") == 5)
                #expect(try await db.count("products WHERE name = 'leader'") == 1)
            }
        }
    }

    /// A create stuck behind a lock longer than the database timeout answers 503 and writes
    /// nothing (the writer's connections carry a statement_timeout); the next create works.
    @Test func stuckCreateTimesOutAndTheWriterReconnects() async throws {
        try await TestDatabase.with { db in
            let settings = TestApp.settings(databaseTimeout: .milliseconds(500))
            try await TestApp.application(database: db, settings: settings).test(.router) { client in
                let body = ByteBuffer(string: #"{"name":"stuck","price":1,"stock":1}"#)
                let warm = try await client.execute(uri: "/products", method: .post, headers: TestApp.jsonHeaders, body: body)
                #expect(warm.status == .created)
                let stuck = try await db.client.withConnection { holder in
                    try await holder.query("BEGIN", logger: TestDatabase.logger).collect()
                    try await holder.query("LOCK TABLE products IN SHARE ROW EXCLUSIVE MODE", logger: TestDatabase.logger).collect()
                    let started = ContinuousClock.now
                    let response = try await client.execute(uri: "/products", method: .post, headers: TestApp.jsonHeaders, body: body)
                    #expect(ContinuousClock.now - started < .seconds(3))
                    try await holder.query("ROLLBACK", logger: TestDatabase.logger).collect()
                    return response
                }
                #expect(stuck.status == .serviceUnavailable)
                #expect(stuck.headers[.retryAfter] == "2")
                let after = try await client.execute(uri: "/products", method: .post, headers: TestApp.jsonHeaders, body: body)
                #expect(after.status == .created)
                // The stuck statement was ended by the server: exactly the two answered 201 exist.
                #expect(try await db.count("products") == 2)
                #expect(try await db.count("outbox") == 2)
            }
        }
    }

    /// A trigger that fails the outbox insert (after the product row was written in the same
    /// statement) for products named FAIL-AFTER-PRODUCT.
    private static func failOutboxInsertsNamedFailAfterProduct(_ db: TestDatabase) async throws {
        try await db.exec("""
            CREATE FUNCTION \(db.schema).fail_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.payload->'data'->>'name' = 'FAIL-AFTER-PRODUCT' THEN RAISE EXCEPTION 'forced outbox failure'; END IF;
              RETURN NEW;
            END $$
            """)
        try await db.exec("CREATE TRIGGER fail_outbox BEFORE INSERT ON \(db.schema).outbox FOR EACH ROW EXECUTE FUNCTION \(db.schema).fail_outbox()")
    }


    @Test func idempotencyKeyReplaysAndRejectsADifferentBody() async throws {
        try await TestDatabase.with { db in
            try await TestApp.application(database: db).test(.router) { client in
                let headers = TestApp.headers([("Idempotency-Key", "order-42")])
                let first = try await client.execute(uri: "/products", method: .post, headers: headers, body: ByteBuffer(string: #"{"name":"a","price":2.5,"stock":1}"#))
                // Same content, different formatting and member order: the same request.
                let second = try await client.execute(uri: "/products", method: .post, headers: headers, body: ByteBuffer(string: #"{ "stock": 1, "price": 2.5, "name": "a" }"#))
                #expect(first.status == .created && second.status == .created)
                #expect(first.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
                #expect(second.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
                #expect(String(buffer: first.body) == String(buffer: second.body))
                #expect(first.headers[.location] == second.headers[.location])

                let different = try await client.execute(uri: "/products", method: .post, headers: headers, body: ByteBuffer(string: #"{"name":"b","price":2.5,"stock":1}"#))
                #expect(different.status == .unprocessableContent)
                #expect(different.headers[.contentType] == "application/problem+json")
                #expect(try await db.count("products") == 1)
                #expect(try await db.count("outbox") == 1)
            }
        }
    }

    @Test func concurrentRequestsWithOneKeyCreateOneProduct() async throws {
        try await TestDatabase.with { db in
            try await TestApp.application(database: db).test(.router) { client in
                let headers = TestApp.headers([("Idempotency-Key", "burst-1")])
                let results = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String, Bool).self) { group in
                    for _ in 0..<50 {
                        group.addTask {
                            let r = try await client.execute(uri: "/products", method: .post, headers: headers, body: ByteBuffer(string: #"{"name":"burst","price":9.99,"stock":5}"#))
                            return (r.status, String(buffer: r.body), r.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
                        }
                    }
                    var all: [(HTTPResponse.Status, String, Bool)] = []
                    for try await result in group { all.append(result) }
                    return all
                }
                #expect(results.count == 50)
                #expect(results.allSatisfy { $0.0 == .created })
                #expect(Set(results.map(\.1)).count == 1)
                #expect(results.filter { !$0.2 }.count == 1)
                #expect(try await db.count("products") == 1)
                #expect(try await db.count("outbox") == 1)
            }
        }
    }

    static func allKeysExpired(_ db: TestDatabase) async -> Bool {
        await waitUntilAsync(timeout: .seconds(5), interval: .milliseconds(20)) {
            (try? await db.text("count(*)", from: "idempotency_keys", where: "expires_at >= now()")) == ["0"]
        }
    }

    @Test func expiredKeysAreTreatedAsNewAndCleanedUp() async throws {
        try await TestDatabase.with { db in
            let settings = TestApp.settings(idempotencyKeyTTL: .milliseconds(300))
            try await TestApp.application(database: db, settings: settings).test(.router) { client in
                let headers = TestApp.headers([("Idempotency-Key", "short-lived")])
                let body = ByteBuffer(string: #"{"name":"a","price":1,"stock":1}"#)
                let first = try await client.execute(uri: "/products", method: .post, headers: headers, body: body)
                // The TTL is 300 ms: wait until the database holds no unexpired key.
                #expect(await Self.allKeysExpired(db))
                let second = try await client.execute(uri: "/products", method: .post, headers: headers, body: body)
                #expect(first.status == .created && second.status == .created)
                #expect(second.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
                #expect(TestApp.object(first.body)["id"] as? String != TestApp.object(second.body)["id"] as? String)
                #expect(try await db.count("products") == 2)

                _ = try await client.execute(uri: "/products", method: .post, headers: TestApp.headers([("Idempotency-Key", "other")]), body: body)
                // The TTL is 300 ms: wait until the database holds no unexpired key.
                #expect(await Self.allKeysExpired(db))
                let store = ProductStore(client: db.client, queryTimeout: .seconds(3))
                let deleted = try await store.deleteExpiredIdempotencyKeys(logger: TestDatabase.logger)
                #expect(deleted == 2)
                #expect(try await db.count("idempotency_keys") == 0)
            }
        }
    }

    @Test func listsWithKeysetPagination() async throws {
        try await TestDatabase.with { db in
            try await TestApp.application(database: db).test(.router) { client in
                var created: [String] = []
                for index in 0..<5 {
                    let r = try await client.execute(uri: "/products", method: .post, headers: TestApp.jsonHeaders, body: ByteBuffer(string: #"{"name":"p\#(index)","price":1,"stock":1}"#))
                    created.append(TestApp.object(r.body)["id"] as? String ?? "")
                }
                var seen: [String] = []
                var uri = "/products?limit=2"
                var pages = 0
                while true {
                    let page = try await client.execute(uri: uri, method: .get)
                    #expect(page.status == .ok)
                    let object = TestApp.object(page.body)
                    let items = object["items"] as? [[String: Any]] ?? []
                    #expect(items.count <= 2)
                    seen += items.compactMap { $0["id"] as? String }
                    pages += 1
                    guard let next = object["next"] as? String, pages < 10 else { break }
                    uri = "/products?limit=2&after=\(next)"
                }
                #expect(pages == 3)
                #expect(seen == created)
                let all = TestApp.object(try await client.execute(uri: "/products", method: .get).body)
                #expect((all["items"] as? [Any])?.count == 5)
                #expect(all["next"] is NSNull)
                for bad in ["/products?limit=0", "/products?limit=101", "/products?limit=x", "/products?after=-3", "/products?after=abc"] {
                    let r = try await client.execute(uri: bad, method: .get)
                    #expect(r.status == .unprocessableContent, "\(bad)")
                }
                #expect(try await client.execute(uri: "/products/123", method: .get).status == .notFound)
                #expect(try await client.execute(uri: "/products/abc", method: .get).status == .notFound)
            }
        }
    }

    @Test func routingErrorsHealthAndMetrics() async throws {
        try await TestDatabase.with { db in
            try await TestApp.application(database: db).test(.router) { client in
                let unknown = try await client.execute(uri: "/nope", method: .get)
                #expect(unknown.status == .notFound)
                #expect(unknown.headers[.contentType] == "application/problem+json")
                let wrongMethod = try await client.execute(uri: "/products", method: .delete)
                #expect(wrongMethod.status == .methodNotAllowed)
                #expect(wrongMethod.headers[.allow] == "POST, GET")
                let wrongMethodItem = try await client.execute(uri: "/products/5", method: .put)
                #expect(wrongMethodItem.status == .methodNotAllowed)
                #expect(wrongMethodItem.headers[.allow] == "GET")

                #expect(try await client.execute(uri: "/health/live", method: .get).status == .ok)
                #expect(try await client.execute(uri: "/health/ready", method: .get).status == .ok)
                let metrics = try await client.execute(uri: "/metrics", method: .get)
                #expect(metrics.status == .ok)
                let text = String(buffer: metrics.body)
                #expect(text.contains(#"http_requests_total{route="/health/ready",method="GET",status="200"} 1"#))
                #expect(text.contains(#"http_requests_total{route="unmatched",method="GET",status="404"} 1"#))
                #expect(text.contains("http_request_duration_seconds_bucket"))
            }
        }
    }
}
