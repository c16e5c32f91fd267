import Foundation

struct ProcessFailure: Error, CustomStringConvertible {
    var command: String
    var status: Int32
    var output: String
    var description: String { "\(command) exited \(status): \(output)" }
}

enum ProcessRunner {
    /// Runs a program to completion and returns its standard output.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], input: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
        }
        try? stdin.fileHandleForWriting.close()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: out, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw ProcessFailure(
                command: ([executable] + arguments).joined(separator: " ").prefix(300).description,
                status: process.terminationStatus,
                output: String(decoding: err, as: UTF8.self) + text)
        }
        return text
    }

    /// For commands that start daemons (the stack script): their children would keep an output
    /// pipe open forever, so output goes to /dev/null and only the exit status counts.
    static func runQuietly(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        while process.isRunning { usleep(50_000) }
        guard process.terminationStatus == 0 else {
            throw ProcessFailure(command: ([executable] + arguments).joined(separator: " "), status: process.terminationStatus, output: "")
        }
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
    static func run(_ sql: String, user: String = "postgres") throws -> String {
        try ProcessRunner.run(
            ProcessRunner.which("psql"),
            ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", RelayTestStack.pgHost, "-p", String(RelayTestStack.pgPort),
             "-U", user, "-d", RelayTestStack.database, "-f", "-"],
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
