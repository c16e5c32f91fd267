import Testing

import Foundation
import TestSupport

/// The `pulsar-cli` executable end to end: produce with it, consume with it, read its JSON lines.
@Suite("pulsar-cli", .enabled(if: StackEnvironment.shouldRun))
struct PulsarCLITests {
    /// `<package>/.build/debug/pulsar-cli`, built by `swift build` / `swift build --build-tests`.
    static func binary(filePath: String = #filePath) throws -> String {
        var root = URL(fileURLWithPath: filePath)
        for _ in 0..<4 { root.deleteLastPathComponent() }
        let candidates = ["debug", "x86_64-unknown-linux-gnu/debug", "aarch64-unknown-linux-gnu/debug", "release"]
            .map { root.appendingPathComponent(".build/\($0)/pulsar-cli").path }
        guard let found = candidates.first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw Spawn.Failure(description: "pulsar-cli is not built (run `swift build --product pulsar-cli`)")
        }
        return found
    }

    @Test("produce prints one id per message; consume --earliest prints them back as JSON lines")
    func produceThenConsume() async throws {
        let url = try StackEnvironment.require("PULSAR_URI")
        let cli = try Self.binary()
        let topic = StackEnvironment.uniqueTopic("cli")
        let produced = try await Spawn.capture(
            cli, ["produce", topic, "--url", url, "-m", "first ✓", "-m", "second", "-n", "2", "-k", "order-1", "-p", "event_type=created", "-p", "trace=a=b"],
            timeout: .seconds(60))
        #expect(produced.status == 0, "produce failed: \(produced.stderr)")
        #expect(produced.lines.count == 4)

        let consumed = try await Spawn.capture(
            cli, ["consume", topic, "--url", url, "-s", "cli-sub", "-n", "4", "--type", "shared", "--earliest"],
            timeout: .seconds(60))
        #expect(consumed.status == 0, "consume failed: \(consumed.stderr)")
        let rows = try consumed.lines.map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        #expect(rows.count == 4)
        #expect(rows.compactMap { $0["payload"] as? String }.sorted() == ["first ✓", "first ✓", "second", "second"])
        for row in rows {
            #expect(row["key"] as? String == "order-1")
            #expect(row["properties"] as? [String: String] == ["event_type": "created", "trace": "a=b"])
            #expect(row["payload_encoding"] as? String == "utf8")
            #expect((row["id"] as? String)?.split(separator: ":").count == 4)
            #expect(row["producer_name"] is String)
            #expect(row["sequence_id"] is NSNumber)
            #expect(row["publish_time"] is NSNumber)
        }
    }

    @Test("a broker that cannot be reached is one clear error line and a non-zero exit")
    func unreachableBroker() async throws {
        let cli = try Self.binary()
        let result = try await Spawn.capture(
            cli, ["consume", "t", "-s", "s", "--url", "pulsar://127.0.0.1:9"], timeout: .seconds(60))
        #expect(result.status != 0)
        let errorLines = result.stderr.split(separator: "\n")
        #expect(errorLines.count == 1)
        #expect(errorLines.first?.hasPrefix("pulsar-cli: error:") == true)
    }
}
