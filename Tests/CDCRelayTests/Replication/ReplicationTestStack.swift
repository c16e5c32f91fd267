import Foundation
import Logging
import NIOCore
import OutboxCore
import Testing
@testable import CDCRelay
import TestSupport

/// The replication tests' view of the stack: a `ReplicationConfiguration` on it and a quiet logger.
enum ReplicationTestStack {
    static func configuration(slot: String, publication: String, applicationName: String = "repl-tests") throws -> ReplicationConfiguration {
        ReplicationConfiguration(
            host: try StackEnvironment.require("PGHOST"),
            port: StackEnvironment.pgPort,
            user: try StackEnvironment.require("RELAY_REPLICATION_USERNAME"),
            password: StackEnvironment.environment["DB_PASSWORD"],
            database: StackEnvironment.environment["PGDATABASE"] ?? "app",
            sslMode: "disable",
            slotName: slot,
            publicationName: publication,
            applicationName: applicationName,
            commandTimeoutSeconds: 20
        )
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
        try SQL.run("""
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
        try SQL.run("INSERT INTO \(table) (id, aggregate_type, aggregate_id, event_type, payload) VALUES \(values.joined(separator: ", "))")
    }

    func confirmedFlushLSN() throws -> LSN? {
        let text = try SQL.run("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = '\(slot)'")
        return text.isEmpty ? nil : LSN(text)
    }

    func waitForConfirmedFlush(_ lsn: LSN, seconds: Double = 10) async throws -> Bool {
        try await waitUntil(timeout: .seconds(seconds)) { try confirmedFlushLSN() == lsn }
    }

    func dropSlot() throws {
        try SQL.run("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '\(slot)'")
    }

    func cleanUp() async {
        // The walsender may hold the slot for a moment after close(): SQL.dropSlot waits for it.
        SQL.dropSlot(slot)
        _ = try? SQL.run("""
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

/// A column of these sessions (text format: they do not ask pgoutput for binary) as the tests read it.
extension TupleValue {
    struct NotText: Error { var value: TupleValue }

    func text() throws -> String {
        guard case .text(let buffer) = self else { throw NotText(value: self) }
        return String(decoding: buffer.readableBytesView, as: UTF8.self)
    }

    func int64() throws -> Int64 {
        guard let value = Int64(try text()) else { throw NotText(value: self) }
        return value
    }
}
