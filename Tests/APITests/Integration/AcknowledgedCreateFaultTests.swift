import TestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PostgresNIO
import Synchronization
import Testing
@testable import API

/// "201 means committed", under crashes: Postgres is killed (`pg_ctl -m immediate`) while creates
/// are in flight, and every create the API acknowledged must be in `products` (with its outbox
/// event) after the restart. Commits are slowed (`commit_delay`, set as superuser on the private
/// instance's database) so that many creates sit between "statement done" and "committed" at the
/// moment of the crash; Postgres is crashed as soon as the first create is acknowledged.
///
/// Each create path runs: keyed creates (pool, explicit transaction), creates without a key on the
/// writer connections (ReadyForQuery after Sync), and creates without a key on the pool's batcher
/// (the path the API takes when it has no writers, as under TLS). For keyed creates, every request
/// is retried with its key after the crash: the retry answers the first attempt's id if and only
/// if the first attempt committed.
@Suite(.serialized, .enabled(if: StackEnvironment.shouldRun, "needs the local stack (scripts/stack env)"))
struct AcknowledgedCreateFaultTests {
    enum CreatePath: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case keyed
        case unkeyedWriters
        case unkeyedPool
        var testDescription: String { rawValue }
    }

    static let rounds = 5
    static let concurrentCreates = 40
    let postgres = PrivatePostgres(suffix: "api-crash", port: 54412)

    struct Attempt: Sendable {
        var index: Int
        var key: String?
        var body: ByteBuffer
        var status: HTTPResponse.Status?
        var id: Int64?
    }

    @Test(arguments: CreatePath.allCases)
    func everyAcknowledgedCreateSurvivesACrash(path: CreatePath) async throws {
        try postgres.stack("pg-start")
        defer { try? postgres.stack("pg-stop") }
        try await superuser("ALTER DATABASE app SET commit_delay = 100000")
        try await superuser("ALTER DATABASE app SET commit_siblings = 0")

        try await TestDatabase.with(host: "127.0.0.1", port: postgres.port) { db in
            let settings = TestApp.settings(databaseTimeout: .seconds(3))
            let app = try TestApp.applicationAndStore(database: db, settings: settings, writers: path != .unkeyedPool).application
            try await app.test(.router) { client in
                var totalAcknowledged = 0
                var totalMissing = 0
                for round in 1...Self.rounds {
                    try await waitUntilReady(client)
                    let attempts = try await createsInterruptedByACrash(client, path: path, round: round)
                    try postgres.stack("pg-start")
                    try await waitUntilReady(client)

                    let acknowledged = attempts.filter { $0.status == .created }
                    var missing = 0
                    for attempt in acknowledged {
                        guard let id = attempt.id else {
                            Issue.record("201 without an id")
                            continue
                        }
                        let products = try await db.count(where: "id = \(id)", in: "products")
                        let events = try await db.count(where: "aggregate_id = '\(id)'", in: "outbox")
                        if products != 1 || events != 1 { missing += 1 }
                    }
                    print("[AcknowledgedCreateFaultTests] path=\(path.rawValue) round=\(round) acknowledged=\(acknowledged.count) missing=\(missing)")
                    #expect(missing == 0, "\(missing) of \(acknowledged.count) acknowledged creates are not in products after the crash")
                    totalAcknowledged += acknowledged.count
                    totalMissing += missing
                    if path == .keyed { try await retriesAnswerTheCommittedID(client, db: db, attempts: attempts) }
                }
                print("[AcknowledgedCreateFaultTests] path=\(path.rawValue) total acknowledged=\(totalAcknowledged) missing=\(totalMissing)")
            }
        }
    }

    /// Sends the round's creates at once and crashes Postgres when the first is acknowledged (or,
    /// if none is, once all have answered). Returns every attempt with its answer.
    private func createsInterruptedByACrash(
        _ client: some TestClientProtocol, path: CreatePath, round: Int
    ) async throws -> [Attempt] {
        let attempts = (0..<Self.concurrentCreates).map { index in
            Attempt(
                index: index, key: path == .keyed ? "crash-\(round)-\(index)-\(UInt32.random(in: 0...UInt32.max))" : nil,
                body: TestApp.json(["name": "crash \(path.rawValue) \(round) \(index)", "price": 1.5, "stock": index])
            )
        }
        return try await withThrowingTaskGroup(of: Attempt.self) { group in
            for attempt in attempts {
                group.addTask { try await send(client, attempt) }
            }
            var answered: [Attempt] = []
            var crashed = false
            for try await attempt in group {
                answered.append(attempt)
                if !crashed && (attempt.status == .created || answered.count == attempts.count) {
                    try postgres.stack("pg-crash")
                    crashed = true
                }
            }
            return answered
        }
    }

    private func send(_ client: some TestClientProtocol, _ attempt: Attempt) async throws -> Attempt {
        let headers = attempt.key.map { TestApp.headers([("Idempotency-Key", $0)]) } ?? TestApp.jsonHeaders
        let response = try await client.execute(uri: "/products", method: .post, headers: headers, body: attempt.body)
        var attempt = attempt
        attempt.status = response.status
        if response.status == .created, let id = TestApp.object(response.body)["id"] as? String {
            attempt.id = Int64(id)
        }
        return attempt
    }

    /// Every keyed request again with its key: the stored key (committed with the product, or not
    /// at all) decides whether the first attempt committed; the retry must answer that id if it
    /// did, and a new product if it did not.
    private func retriesAnswerTheCommittedID(_ client: some TestClientProtocol, db: TestDatabase, attempts: [Attempt]) async throws {
        for attempt in attempts {
            guard let key = attempt.key else { continue }
            let stored = try await db.text("resource_id", from: "idempotency_keys", where: "key = '\(key)'").first.flatMap { $0.flatMap { Int64($0) } }
            let retry = try await send(client, attempt)
            #expect(retry.status == .created, "retry of \(key) answered \(String(describing: retry.status))")
            guard let retryID = retry.id else { continue }
            if let stored {
                #expect(retryID == stored, "the first attempt committed, but the retry answered another id")
                if attempt.status == .created { #expect(attempt.id == stored) }
            } else {
                #expect(retryID != attempt.id, "the first attempt did not commit, but the retry answered its id")
                #expect(try await db.count(where: "id = \(retryID)", in: "products") == 1)
            }
        }
    }

    /// Waits (bounded) until the API reaches the database again after a restart.
    private func waitUntilReady(_ client: some TestClientProtocol) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if try await client.execute(uri: "/health/ready", method: .get).status == .ok { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the API did not reach the restarted database within 60 s")
        throw DatabaseNotReady()
    }

    struct DatabaseNotReady: Error {}

    /// One statement as the private instance's superuser (commit_delay is a superuser setting).
    private func superuser(_ sql: String) async throws {
        let configuration = PostgresConnection.Configuration(
            host: "127.0.0.1", port: postgres.port, username: "postgres", password: nil, database: "app", tls: .disable
        )
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: TestDatabase.logger)
        do {
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger)
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }
}

extension TestDatabase {
    func count(where condition: String, in table: String) async throws -> Int64 {
        let rows = try await admin.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(schema).\(table) WHERE \(condition)"), logger: Self.logger)
        for try await value in rows.decode(Int64.self) { return value }
        return -1
    }
}
