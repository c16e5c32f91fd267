import TestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import API

/// The API under a role with exactly the grants the README lists (no ownership, no CREATE, not a
/// member of the owner role): creates through the writers and with a key, reads, health.
@Suite(.serialized, .enabled(if: StackEnvironment.shouldRun), .timeLimit(.minutes(2)))
struct APILeastPrivilegeTests {
    @Test func apiServesWithOnlyItsDocumentedGrants() async throws {
        let name = "api_least_\(UInt32.random(in: 0...UInt32.max))"
        let role = TestDatabase.Role(name: name, password: "least") { schema in
            """
            CREATE ROLE \(name) LOGIN PASSWORD 'least';
            GRANT USAGE ON SCHEMA \(schema) TO \(name);
            GRANT SELECT, INSERT ON \(schema).products, \(schema).outbox TO \(name);
            GRANT SELECT, INSERT, UPDATE, DELETE ON \(schema).idempotency_keys TO \(name)
            """
        }
        let host = try StackEnvironment.require("DATABASE_HOST")
        let port = Int(try StackEnvironment.require("DATABASE_PORT")) ?? 0
        try await TestDatabase.with(role: role) { db in
            let application = try TestApp.application(database: db)
            try await application.test(.router) { client in
                let created = try await client.execute(
                    uri: "/products", method: .post, headers: TestApp.jsonHeaders, body: TestApp.json(["name": "least", "price": 3, "stock": 1]))
                #expect(created.status == .created)
                let id = try #require(TestApp.object(created.body)["id"] as? String)
                let keyed = try await client.execute(
                    uri: "/products", method: .post, headers: TestApp.headers([("Idempotency-Key", "least-1")]),
                    body: TestApp.json(["name": "keyed", "price": 3, "stock": 1]))
                #expect(keyed.status == .created)
                let replay = try await client.execute(
                    uri: "/products", method: .post, headers: TestApp.headers([("Idempotency-Key", "least-1")]),
                    body: TestApp.json(["name": "keyed", "price": 3, "stock": 1]))
                #expect(replay.status == .created)
                #expect(try await client.execute(uri: "/products/\(id)", method: .get).status == .ok)
                #expect(try await client.execute(uri: "/products", method: .get).status == .ok)
            }
            #expect(try await db.count("products") == 2)
            #expect(try await db.count("outbox") == 2)
        }
        try await TestDatabase.superuser(host: host, port: port, "DROP OWNED BY \(name); DROP ROLE IF EXISTS \(name)")
    }
}
