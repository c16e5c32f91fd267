import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A database of its own with `public.outbox` (the table the `cdc-relay` binary reads), plus a
/// slot, publication and topic named after it.
struct RelayDatabaseFixture: Sendable {
    let id: String
    var database: String { "r_\(id)" }
    var publication: String { "pub_\(id)" }
    var slot: String { "slot_\(id)" }
    var topic: String { "persistent://public/default/p_\(id)" }

    init() throws {
        try RelayTestStack.require()
        id = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        try SQL.run("CREATE DATABASE \(database) OWNER app")
        try SQL.run("""
            CREATE TABLE outbox (
                id bigint PRIMARY KEY, aggregate_type text NOT NULL, aggregate_id text NOT NULL,
                event_type text NOT NULL, payload jsonb NOT NULL, headers jsonb NOT NULL DEFAULT '{}'::jsonb,
                created_at timestamptz NOT NULL DEFAULT now());
            ALTER TABLE outbox OWNER TO app;
            CREATE PUBLICATION \(publication) FOR TABLE outbox WITH (publish = 'insert');
            """, database: database)
    }

    /// `transactions` transactions of `rowsPerTransaction` rows each, ids from `firstID`.
    func insertSQL(firstID: Int64, transactions: Int, rowsPerTransaction: Int) -> String {
        var script = ""
        for transaction in 0..<transactions {
            let first = firstID + Int64(transaction * rowsPerTransaction)
            script += """
                INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload)
                SELECT g, 'product', 'agg-' || (g % 7), 'product.created', jsonb_build_object('id', g)
                FROM generate_series(\(first), \(first + Int64(rowsPerTransaction) - 1)) AS g;

                """
        }
        return script
    }

    func insert(firstID: Int64, transactions: Int = 1, rowsPerTransaction: Int) throws {
        try SQL.run(insertSQL(firstID: firstID, transactions: transactions, rowsPerTransaction: rowsPerTransaction), user: "app", database: database)
    }

    func confirmedFlushLSN() throws -> UInt64? {
        try SQL.confirmedFlushLSN(slot: slot)
    }

    func slotIsActive() throws -> Bool {
        try SQL.value("SELECT active FROM pg_replication_slots WHERE slot_name = '\(slot)'") == "t"
    }

    func currentWALLSN() throws -> UInt64 {
        SQL.lsn(try SQL.value("SELECT pg_current_wal_insert_lsn()")) ?? 0
    }

    func cleanUp() {
        SQL.dropSlot(slot)
        _ = try? SQL.run("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
    }
}

/// The real `cdc-relay` executable on the fixture's database, with its log in a file.
final class RelayProcess: Sendable {
    let pid: pid_t
    let metricsPort: Int
    let logPath: String

    init(_ fixture: RelayDatabaseFixture, maxInFlight: Int = 1000, shutdownTimeoutSeconds: Int = 5) throws {
        metricsPort = try Self.freePort()
        logPath = FileManager.default.temporaryDirectory.appendingPathComponent("cdc-relay-\(fixture.id)-\(UUID().uuidString).log").path
        let environment = Self.environment(fixture, metricsPort: metricsPort, maxInFlight: maxInFlight, shutdownTimeoutSeconds: shutdownTimeoutSeconds)
        pid = try Spawn.start(try Self.executable().path, [], environment: environment, logPath: logPath)
    }

    /// The relay's configuration for the fixture, as environment variables.
    static func environment(_ fixture: RelayDatabaseFixture, metricsPort: Int, maxInFlight: Int = 1000, shutdownTimeoutSeconds: Int = 5) -> [String: String] {
        [
            "DATABASE_DATABASE": fixture.database,
            "RELAY_SLOT_NAME": fixture.slot,
            "RELAY_PUBLICATION_NAME": fixture.publication,
            "RELAY_REPLICATION_USERNAME": RelayTestStack.replicationUser,
            "RELAY_METRICS_PORT": "\(metricsPort)",
            "RELAY_MAX_IN_FLIGHT": "\(maxInFlight)",
            "RELAY_STATUS_INTERVAL_SECONDS": "1",
            "RELAY_SHUTDOWN_TIMEOUT_SECONDS": "\(shutdownTimeoutSeconds)",
            "PULSAR_TOPIC_NAME": fixture.topic,
            "LOG_LEVEL": "info",
        ]
    }

    /// `cdc-relay <arguments>` (backfill, recover, …) on the fixture, started; its output in `logPath`.
    static func startSubcommand(_ fixture: RelayDatabaseFixture, _ arguments: [String], logPath: String) throws -> pid_t {
        try Spawn.start(try executable().path, arguments, environment: environment(fixture, metricsPort: try freePort()), logPath: logPath)
    }

    /// Runs `cdc-relay <arguments>` to completion: its exit code and output.
    static func runSubcommand(_ fixture: RelayDatabaseFixture, _ arguments: [String]) async throws -> (code: Int32, output: String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("cdc-relay-\(arguments.first ?? "run")-\(UUID().uuidString).log").path
        let pid = try startSubcommand(fixture, arguments, logPath: log)
        let code = Spawn.exitCode(await Spawn.wait(pid))
        return (code, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    /// `/health` status ("streaming", "standby", …), nil while the server does not answer.
    func status() async -> String? {
        guard let url = URL(string: "http://127.0.0.1:\(metricsPort)/health"),
              let (data, _) = try? await URLSession.shared.data(from: url),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object["status"] as? String
    }

    func metrics() async -> String {
        guard let url = URL(string: "http://127.0.0.1:\(metricsPort)/metrics"),
              let (data, _) = try? await URLSession.shared.data(from: url)
        else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Polls `/health` until it reports `status` (false on timeout or if the process died).
    func waitForStatus(_ status: String, timeout: Duration = .seconds(30)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !isRunning { return false }
            if await self.status() == status { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// True until the process exited (it is a zombie until reaped by kill9/terminate).
    var isRunning: Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let end = stat.lastIndex(of: ")")
        else { return false }
        // "pid (comm) S …": the state letter follows the command name.
        return !stat[stat.index(after: end)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    /// SIGKILL and reap.
    func kill9() async {
        kill(pid, SIGKILL)
        _ = await Spawn.wait(pid)
    }

    /// SIGTERM; returns the exit code, or nil if it did not exit within `timeout` (then SIGKILL).
    func terminate(timeout: Duration) async -> Int32? {
        kill(pid, SIGTERM)
        let waiting = Task { await Spawn.wait(pid) }
        let deadline = ContinuousClock.now + timeout
        while isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if isRunning {
            kill(pid, SIGKILL)
            _ = await waiting.value
            return nil
        }
        return Spawn.exitCode(await waiting.value)
    }

    func logTail(lines: Int = 30) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// The built `cdc-relay`, next to the test bundle or in `.build/debug`.
    static func executable() throws -> URL {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        for dir in [bundleDir, root.appendingPathComponent(".build/debug")] {
            let candidate = dir.appendingPathComponent("cdc-relay")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw Spawn.Failure(description: "cdc-relay is not built: run `swift build` first")
    }

    /// A port nobody listens on right now (bound to 0, then released).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Spawn.Failure(description: "socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
            }
        }
        guard bound else { throw Spawn.Failure(description: "bind failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
