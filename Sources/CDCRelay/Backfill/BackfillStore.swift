import OutboxCore

/// A backfill's durable state: the run (`outbox_relay_backfills`) and its manifest
/// (`outbox_relay_backfill_rows`: the ids selected in one snapshot), so a rerun after a crash
/// continues with exactly the rows the first run chose, never with rows the stream delivers.
public struct BackfillRun: Sendable, Hashable {
    public var name: String
    public var slotName: String
    public var selection: String
    public var total: Int64
    public var done: Int64
    /// Every manifest id up to this one was acknowledged by the broker (nil: none yet).
    public var lastID: Int64?
    public var invalid: Int64
    public var finished: Bool
}

/// The SQL of a backfill, on one ordinary connection (`database.username`).
struct BackfillStore: Sendable {
    let connection: QueueConnection
    let conninfo: String
    let table: OutboxTable
    let mapping: OutboxColumnMapping

    static let createTables = """
        CREATE TABLE IF NOT EXISTS outbox_relay_backfills (
            name        text        PRIMARY KEY,
            slot_name   text        NOT NULL,
            selection   text        NOT NULL,
            total       bigint      NOT NULL,
            done        bigint      NOT NULL DEFAULT 0,
            last_id     bigint,
            invalid     bigint      NOT NULL DEFAULT 0,
            started_at  timestamptz NOT NULL DEFAULT now(),
            updated_at  timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz
        );
        CREATE TABLE IF NOT EXISTS outbox_relay_backfill_rows (
            name text   NOT NULL,
            id   bigint NOT NULL,
            PRIMARY KEY (name, id)
        );
        """

    private var quote: (String) -> String { ReplicationConfiguration.quoteLiteral }
    private var idColumn: String { ReplicationConfiguration.quoteIdentifier(mapping.id.columnName ?? "id") }

    @discardableResult
    func execute(_ sql: String, timeoutSeconds: Double = 60) async throws(BackfillError) -> QueryResult {
        do {
            return try await connection.execute(sql, conninfo: conninfo, timeoutSeconds: timeoutSeconds)
        } catch {
            throw BackfillError(code: .database, message: error.description)
        }
    }

    func ensureTables() async throws(BackfillError) {
        // Present when sql/0026 ran; created here for a database without the migrations.
        if try await execute("SELECT 1 WHERE to_regclass('outbox_relay_backfill_rows') IS NULL").rows.isEmpty == false {
            try await execute(Self.createTables)
        }
    }

    func run(named name: String) async throws(BackfillError) -> BackfillRun? {
        let result = try await execute("""
            SELECT name, slot_name, selection, total, done, last_id, invalid, finished_at IS NOT NULL AS finished
            FROM outbox_relay_backfills WHERE name = \(quote(name))
            """)
        guard !result.rows.isEmpty else { return nil }
        func int(_ column: String) -> Int64? { result.value(row: 0, column: column).flatMap { Int64($0) } }
        return BackfillRun(
            name: name, slotName: result.value(row: 0, column: "slot_name") ?? "",
            selection: result.value(row: 0, column: "selection") ?? "", total: int("total") ?? 0, done: int("done") ?? 0,
            lastID: int("last_id"), invalid: int("invalid") ?? 0, finished: result.value(row: 0, column: "finished") == "t")
    }

    /// Selects the rows in one transaction — in `snapshot` when given (the snapshot a new slot
    /// exported: exactly the rows committed before the slot's consistent point) — and records the run.
    func createManifest(name: String, slotName: String, selection: BackfillSelection, snapshot: String?) async throws(BackfillError) -> BackfillRun {
        let predicate = try selection.predicate(mapping: mapping)
        let importSnapshot = snapshot.map { "SET TRANSACTION SNAPSHOT \(quote($0));" } ?? ""
        do {
            try await execute("""
                BEGIN ISOLATION LEVEL REPEATABLE READ;
                \(importSnapshot)
                INSERT INTO outbox_relay_backfill_rows (name, id)
                    SELECT \(quote(name)), \(idColumn) FROM \(table.quotedName) WHERE \(predicate);
                INSERT INTO outbox_relay_backfills (name, slot_name, selection, total)
                    SELECT \(quote(name)), \(quote(slotName)), \(quote(selection.description)), count(*)
                    FROM outbox_relay_backfill_rows WHERE name = \(quote(name));
                COMMIT;
                """, timeoutSeconds: 600)
        } catch {
            _ = try? await execute("ROLLBACK")
            throw error
        }
        guard let run = try await run(named: name) else {
            throw BackfillError(code: .database, message: "backfill \(name) was not recorded")
        }
        return run
    }

    /// The outbox's columns, in table order.
    func columns() async throws(BackfillError) -> [String] {
        let result = try await execute("""
            SELECT attname FROM pg_attribute
            WHERE attrelid = to_regclass(\(quote(table.quotedName))) AND attnum > 0 AND NOT attisdropped ORDER BY attnum
            """)
        return result.rows.compactMap { $0.first ?? nil }
    }

    /// One page of the manifest after `afterID`, in id order (per-aggregate order): each id with
    /// its row's values in `columns` order, as text (nil: SQL NULL); the row is nil when it is
    /// gone from the table (e.g. removed by retention since the snapshot).
    func page(name: String, afterID: Int64?, limit: Int, columns: [String]) async throws(BackfillError) -> [(id: Int64, values: [String?]?)] {
        let select = columns.map { column in
            let quoted = ReplicationConfiguration.quoteIdentifier(column)
            return "o.\(quoted)::text"
        }.joined(separator: ", ")
        let result = try await execute("""
            SELECT m.id, o.\(idColumn) IS NOT NULL, \(select)
            FROM outbox_relay_backfill_rows m LEFT JOIN \(table.quotedName) o ON o.\(idColumn) = m.id
            WHERE m.name = \(quote(name)) \(afterID.map { "AND m.id > \($0)" } ?? "")
            ORDER BY m.id LIMIT \(limit)
            """)
        return result.rows.compactMap { values -> (id: Int64, values: [String?]?)? in
            guard let idText = values.first ?? nil, let id = Int64(idText) else { return nil }
            guard values.count == columns.count + 2, values[1] == "t" else { return (id, nil) }
            return (id, Array(values.dropFirst(2)))
        }
    }

    func recordProgress(name: String, done: Int64, invalid: Int64, lastID: Int64) async throws(BackfillError) {
        try await execute("""
            UPDATE outbox_relay_backfills SET done = \(done), invalid = \(invalid), last_id = \(lastID), updated_at = now()
            WHERE name = \(quote(name))
            """)
    }

    func finish(name: String) async throws(BackfillError) {
        try await execute("UPDATE outbox_relay_backfills SET finished_at = now(), updated_at = now() WHERE name = \(quote(name))")
    }
}
