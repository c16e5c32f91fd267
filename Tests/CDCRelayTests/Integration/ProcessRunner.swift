import Foundation

struct ProcessFailure: Error, CustomStringConvertible {
    var command: String
    var status: Int32
    var output: String
    var description: String { "\(command) exited \(status): \(output)" }
}

enum ProcessRunner {
    /// Runs a program to completion (short commands: the calling thread waits) and returns its
    /// standard output. Output and input go through temporary files.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], input: String? = nil) throws -> String {
        let dir = FileManager.default.temporaryDirectory
        let token = UUID().uuidString
        let outputPath = dir.appendingPathComponent("run-\(token).out").path
        let inputPath = input.map { _ in dir.appendingPathComponent("run-\(token).in").path }
        defer {
            try? FileManager.default.removeItem(atPath: outputPath)
            if let inputPath { try? FileManager.default.removeItem(atPath: inputPath) }
        }
        if let input, let inputPath { try input.write(toFile: inputPath, atomically: false, encoding: .utf8) }
        let pid = try Spawn.start(executable, arguments, environment: environment, logPath: outputPath, inputPath: inputPath)
        let code = Spawn.exitCode(Spawn.waitBlocking(pid))
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard code == 0 else {
            throw ProcessFailure(command: ([executable] + arguments).joined(separator: " ").prefix(300).description, status: code, output: text)
        }
        return text
    }

    static func which(_ name: String) -> String {
        for dir in ["/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/bin", "/bin"] {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return "/usr/bin/\(name)"
    }
}

/// SQL through `psql` as the superuser (test setup and checks only).
enum SQL {
    @discardableResult
    static func run(_ sql: String, user: String = "postgres", database: String = RelayTestStack.database) throws -> String {
        try ProcessRunner.run(
            ProcessRunner.which("psql"),
            ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", RelayTestStack.pgHost, "-p", String(RelayTestStack.pgPort),
             "-U", user, "-d", database, "-f", "-"],
            environment: ["PGOPTIONS": "-c client_min_messages=warning"],
            input: sql
        ).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func value(_ sql: String) throws -> String {
        try run(sql)
    }

    static func lsn(_ text: String) -> UInt64? {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let high = UInt64(parts[0], radix: 16), let low = UInt64(parts[1], radix: 16) else { return nil }
        return high << 32 | low
    }

    static func confirmedFlushLSN(slot: String) throws -> UInt64? {
        lsn(try value("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '\(slot)'"))
    }

    static func dropSlot(_ slot: String) {
        _ = try? run("""
            SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '\(slot)' AND active_pid IS NOT NULL;
            SELECT pg_sleep(0.2);
            SELECT pg_drop_replication_slot('\(slot)') FROM pg_replication_slots WHERE slot_name = '\(slot)';
            """)
    }
}
