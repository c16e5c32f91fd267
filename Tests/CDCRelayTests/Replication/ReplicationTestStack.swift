import Foundation
import Logging
import NIOCore
import OutboxCore
import Testing
@testable import CDCRelay

/// The local stack (`scripts/stack --name X env`) as seen by the replication tests. When the test
/// runner sets OUTBOX_REQUIRE_STACK=1 the tests run and fail without it; otherwise they are skipped.
enum ReplicationTestStack {
    static let environment = ProcessInfo.processInfo.environment

    static var isAvailable: Bool {
        environment["PGHOST"] != nil && environment["PGPORT"] != nil && environment["RELAY_REPLICATION_USERNAME"] != nil
    }

    static var shouldRun: Bool { isAvailable || environment["OUTBOX_REQUIRE_STACK"] == "1" }

    struct MissingEnvironment: Error, CustomStringConvertible {
        var description: String { "the local stack environment is missing: eval \"$(scripts/stack --name NAME env)\"" }
    }

    static func value(_ name: String) throws -> String {
        guard let value = environment[name], !value.isEmpty else { throw MissingEnvironment() }
        return value
    }

    static func configuration(slot: String, publication: String, applicationName: String = "repl-tests") throws -> ReplicationConfiguration {
        ReplicationConfiguration(
            host: try value("PGHOST"),
            port: Int(try value("PGPORT")) ?? 5432,
            user: try value("RELAY_REPLICATION_USERNAME"),
            password: environment["DB_PASSWORD"],
            database: environment["PGDATABASE"] ?? "app",
            sslMode: "disable",
            slotName: slot,
            publicationName: publication,
            applicationName: applicationName,
            commandTimeoutSeconds: 20
        )
    }

    /// Runs SQL as the stack's superuser on an ordinary (non-replication) connection.
    @discardableResult
    static func sql(_ statement: String) throws -> QueryResult {
        let conninfo = [
            "host=" + LibPQConninfo.quote(try value("PGHOST")),
            "port=" + LibPQConninfo.quote(try value("PGPORT")),
            "user=" + LibPQConninfo.quote(environment["PGUSER"] ?? "postgres"),
            "dbname=" + LibPQConninfo.quote(environment["PGDATABASE"] ?? "app"),
            "sslmode=disable",
        ].joined(separator: " ")
        let connection = try LibPQConnection.connect(conninfo: conninfo, deadline: .after(seconds: 10))
        return try connection.execute(statement, deadline: .after(seconds: 30)).0
    }

    static var logger: Logger {
        var logger = Logger(label: "repl-tests")
        logger.logLevel = .notice
        return logger
    }
}

/// A private outbox-shaped table, publication and slot name per test, so tests run in parallel.
struct ReplicationFixture {
    let name: String
    var table: String { name }
    var publication: String { name + "_pub" }
    var slot: String { name }

    init() throws {
        name = "repl_it_" + String(UInt64.random(in: 0..<UInt64.max), radix: 36)
        try ReplicationTestStack.sql("""
            CREATE TABLE \(table) (
                id bigint PRIMARY KEY, aggregate_type text NOT NULL, aggregate_id text NOT NULL,
                event_type text NOT NULL, payload jsonb NOT NULL, headers jsonb NOT NULL DEFAULT '{}',
                created_at timestamptz NOT NULL DEFAULT now());
            GRANT ALL ON \(table) TO app;
            ALTER TABLE \(table) OWNER TO app;
            """)
    }

    func configuration(applicationName: String = "repl-tests") throws -> ReplicationConfiguration {
        try ReplicationTestStack.configuration(slot: slot, publication: publication, applicationName: applicationName)
    }

    func bootstrap() async throws -> SlotBootstrap.Outcome {
        try await SlotBootstrap(configuration: try configuration(), table: OutboxTable(name: table), logger: ReplicationTestStack.logger).run()
    }

    /// Inserts one transaction with `ids.count` rows.
    func insert(_ ids: [Int64]) throws {
        let values = ids.map { "(\($0), 'product', '\($0)', 'product.created', '{\"event_id\": \($0), \"name\": \"p\"}')" }
        try ReplicationTestStack.sql("INSERT INTO \(table) (id, aggregate_type, aggregate_id, event_type, payload) VALUES \(values.joined(separator: ", "))")
    }

    func confirmedFlushLSN() throws -> LSN? {
        try ReplicationTestStack.sql("SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = '\(slot)'")
            .value(row: 0, column: "lsn").flatMap { LSN($0) }
    }

    func waitForConfirmedFlush(_ lsn: LSN, seconds: Double = 10) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if try confirmedFlushLSN() == lsn { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    func dropSlot() throws {
        try ReplicationTestStack.sql("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '\(slot)'")
    }

    func cleanUp() async {
        for _ in 0..<50 {
            // The walsender may need a moment to release the slot after close().
            if (try? dropSlot()) != nil { break }
            try? await Task.sleep(for: .milliseconds(100))
        }
        _ = try? ReplicationTestStack.sql("""
            DROP PUBLICATION IF EXISTS \(publication);
            DROP TABLE IF EXISTS \(table);
            DELETE FROM outbox_relay_slots WHERE slot_name = '\(slot)';
            """)
    }
}

/// Reads the stream until `commits` Commit messages arrived, decoding every XLogData.
func collectTransactions(
    commits: Int,
    from iterator: inout ReplicationStream.AsyncIterator,
    decoder: inout PGOutputDecoder
) async throws -> [PGOutputMessage] {
    var messages: [PGOutputMessage] = []
    var seen = 0
    while seen < commits, let next = try await iterator.next() {
        guard case .xLogData(let data) = next else { continue }
        var payload = data.data
        let message = try decoder.decode(&payload)
        messages.append(message)
        if case .commit = message { seen += 1 }
    }
    return messages
}
