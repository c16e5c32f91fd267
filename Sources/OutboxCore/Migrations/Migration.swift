import Foundation

/// One ordered SQL file from `sql/`, named `NNNN_description.sql`.
public struct Migration: Sendable, Equatable {
    public var version: String
    public var name: String
    public var sql: String

    /// A stable fingerprint of the file, so an applied migration that was edited afterwards is
    /// reported instead of silently diverging between databases (FNV-1a, 64 bit).
    public var checksum: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in sql.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return String(hash, radix: 16)
    }

    public init(version: String, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// Reads every migration from a directory, ordered by version.
    public static func load(from directory: URL) throws(MigrationError) -> [Migration] {
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw MigrationError(code: .directoryUnreadable, migration: nil, reason: "cannot list \(directory.path): \(error.localizedDescription)")
        }
        var migrations: [Migration] = []
        for entry in entries.sorted() where entry.hasSuffix(".sql") {
            guard let underscore = entry.firstIndex(of: "_"),
                  entry[..<underscore].count == 4, entry[..<underscore].allSatisfy(\.isASCII), entry[..<underscore].allSatisfy(\.isNumber)
            else {
                throw MigrationError(code: .badFileName, migration: entry, reason: "migration files are named NNNN_description.sql")
            }
            let version = String(entry[..<underscore])
            if migrations.contains(where: { $0.version == version }) {
                throw MigrationError(code: .duplicateVersion, migration: entry, reason: "version \(version) is used by two files")
            }
            let sql: String
            do {
                sql = try String(contentsOf: directory.appendingPathComponent(entry), encoding: .utf8)
            } catch {
                throw MigrationError(code: .directoryUnreadable, migration: entry, reason: "cannot read: \(error.localizedDescription)")
            }
            migrations.append(Migration(version: version, name: String(entry.dropLast(4)), sql: sql))
        }
        return migrations
    }

    /// Where the `sql/` folder is: `OUTBOX_MIGRATIONS_DIR`, else `./sql`, else the nearest `sql/`
    /// above the running executable (a `swift build` product run from anywhere).
    public static func locateDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
        if let named = environment["OUTBOX_MIGRATIONS_DIR"], !named.isEmpty {
            return URL(fileURLWithPath: named)
        }
        var candidates = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(dir)
            dir = dir.deletingLastPathComponent()
        }
        return candidates
            .map { $0.appendingPathComponent("sql") }
            .first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("0001_products.sql").path) }
    }
}
