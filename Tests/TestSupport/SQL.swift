import Foundation

/// SQL through `psql` on the stack's Postgres, as the superuser unless told otherwise (test setup
/// and checks only; the code under test uses its own connections).
public enum SQL {
    public struct Failure: Error, CustomStringConvertible {
        public var status: Int32
        public var output: String
        public var description: String { "psql exited \(status): \(output.suffix(2000))" }
    }

    /// Runs `sql` (one or more statements, stopping at the first error); returns the unaligned,
    /// tuples-only output, trimmed.
    @discardableResult
    public static func run(
        _ sql: String, user: String = "postgres", database: String = StackEnvironment.database,
        host: String = StackEnvironment.pgHost, port: Int = StackEnvironment.pgPort
    ) throws -> String {
        let result = try Spawn.outputBlocking(
            Spawn.which("psql"),
            ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", String(port), "-U", user, "-d", database, "-f", "-"],
            environment: ["PGOPTIONS": "-c client_min_messages=warning"],
            input: sql
        )
        guard result.code == 0 else { throw Failure(status: result.code, output: result.output) }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `X/Y` (pg_lsn text) as a number.
    public static func lsn(_ text: String) -> UInt64? {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let high = UInt64(parts[0], radix: 16), let low = UInt64(parts[1], radix: 16) else { return nil }
        return high << 32 | low
    }

    public static func confirmedFlushLSN(slot: String) throws -> UInt64? {
        lsn(try run("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '\(slot)'"))
    }

    public static func currentWALLSN() throws -> UInt64 {
        lsn(try run("SELECT pg_current_wal_insert_lsn()")) ?? 0
    }

    /// Ends the slot's walsender, lets Postgres release the slot (polled inside the server), and drops it.
    public static func dropSlot(_ slot: String) {
        _ = try? run("""
            SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '\(slot)' AND active_pid IS NOT NULL;
            DO $$ BEGIN
              FOR i IN 1..100 LOOP
                EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '\(slot)' AND active);
                PERFORM pg_sleep(0.05);
              END LOOP;
            END $$;
            SELECT pg_drop_replication_slot('\(slot)') FROM pg_replication_slots WHERE slot_name = '\(slot)';
            """)
    }
}
