import TestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `cdc-relay check` against a throwaway Postgres 15 cluster started with `wal_level = replica`
/// (the shared stack cannot be restarted with it): the check names wal_level and exits 1.
@Suite(.serialized, .enabled(if: StackEnvironment.shouldRun), .timeLimit(.minutes(2)))
struct PreflightWALLevelTests {
    /// initdb and postgres refuse to run as root: run them as `postgres` then.
    static func asPostgres(_ command: [String]) -> (String, [String]) {
        getuid() == 0 ? ("/usr/sbin/runuser", ["-u", "postgres", "--"] + command) : (command[0], Array(command.dropFirst()))
    }

    @Test func walLevelReplicaIsNamedAndBlocks() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("check-replica-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if getuid() == 0 { try Spawn.checked("/bin/chown", ["postgres", dir]) }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = dir + "/data"
        let initdb = Self.asPostgres([Spawn.which("initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"])
        try Spawn.checked(initdb.0, initdb.1)
        let port = try freePort()
        let options = "-c wal_level=replica -c port=\(port) -c listen_addresses=127.0.0.1 -c unix_socket_directories=\(dir) -c fsync=off"
        let start = Self.asPostgres([Spawn.which("pg_ctl"), "-D", data, "-l", dir + "/log", "-o", options, "-w", "-t", "60", "start"])
        try Spawn.checked(start.0, start.1)
        defer {
            let stop = Self.asPostgres([Spawn.which("pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"])
            _ = try? Spawn.checked(stop.0, stop.1)
        }

        let logPath = dir + "/check.out"
        let pid = try Spawn.start(try RelayProcess.executable().path, ["check"], environment: [
            "DATABASE_HOST": "127.0.0.1", "DATABASE_PORT": "\(port)", "DATABASE_USERNAME": "postgres",
            "DATABASE_DATABASE": "postgres", "RELAY_REPLICATION_USERNAME": "postgres",
        ], logPath: logPath)
        let code = Spawn.exitCode(Spawn.waitBlocking(pid))
        let output = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        #expect(code == 1, "\(output)")
        let line = PreflightIntegrationTests.line(output, "wal_level")
        #expect(line.contains("BLOCKER") && line.contains("replica: logical decoding needs wal_level = logical"), "\(output)")
        #expect(PreflightIntegrationTests.line(output, "connection").contains("OK"), "\(output)")
    }
}
