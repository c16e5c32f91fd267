import Foundation
import Testing

@testable import CDCRelay
import TestSupport

/// Events above the broker's maximum message size (5 MiB on pulsar-lite) leave the relay as
/// chunked messages: read back whole and byte-identical by the official client and by
/// `pulsar-cli consume`.
@Suite(.serialized, .enabled(if: StackEnvironment.shouldRun), .timeLimit(.minutes(5)))
struct LargeEventIntegrationTests {
    static func insertLarge(_ fixture: RelayFixture, id: Int64, bytes: Int) throws {
        try SQL.run("""
            INSERT INTO \(fixture.schema).outbox (id, aggregate_type, aggregate_id, event_type, payload)
            VALUES (\(id), 'product', 'agg-\(id)', 'product.created', jsonb_build_object('id', \(id), 'blob', repeat('x', \(bytes))));
            """, user: "app")
    }

    /// `<package>/.build/debug/pulsar-cli`, built with the tests.
    static func pulsarCLI() throws -> String {
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { root.deleteLastPathComponent() }
        let candidates = [bundleDir.appendingPathComponent("pulsar-cli").path, root.appendingPathComponent(".build/debug/pulsar-cli").path]
        return try #require(candidates.first(where: FileManager.default.isExecutableFile(atPath:)), "pulsar-cli is not built")
    }

    @Test func sixAndThirtyMegabyteEventsArriveWholeAtTheOfficialClientAndPulsarCLI() async throws {
        let fixture = try RelayFixture()
        defer { fixture.cleanUp() }
        let relay = try InProcessRelay(fixture)
        try await relay.startAndWaitUntilStreaming()
        try Self.insertLarge(fixture, id: 1, bytes: 6_000_000)
        try Self.insertLarge(fixture, id: 2, bytes: 30 * 1024 * 1024)
        try fixture.insert(firstID: 3, count: 1)
        #expect(try await fixture.slotConfirmsCurrentWAL(within: .seconds(120)), "every event acked, the slot moved past them")
        let expected = try LargePayloadReader.expected(schemaTable: "\(fixture.schema).outbox")

        let official = try LargePayloadReader.read(topic: fixture.topic, subscription: "official", count: 3, timeout: .seconds(90))
        #expect(official.map(\.eventID) == [1, 2, 3])
        for digest in official {
            #expect(digest.size == expected[digest.eventID]?.size && digest.sha256 == expected[digest.eventID]?.sha256, "event \(digest.eventID)")
        }
        print("large figures: official client read sizes \(official.map(\.size)) byte-identical")

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("payloads-\(fixture.id)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let lines = try Spawn.checked(try Self.pulsarCLI(), [
            "consume", "--url", StackEnvironment.pulsarURI, fixture.topic, "-s", "cli", "-n", "3", "--earliest",
            "--payload-dir", dir.path,
        ])
        let files = lines.split(separator: "\n").compactMap { line -> (Int64, String)? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let properties = object["properties"] as? [String: String], let id = properties["event_id"].flatMap(Int64.init),
                  let file = object["payload_file"] as? String else { return nil }
            return (id, file)
        }
        #expect(files.map(\.0) == [1, 2, 3], "\(lines.prefix(500))")
        for (id, file) in files {
            let digest = try Spawn.checked(Spawn.which("sha256sum"), [file]).split(separator: " ").first.map(String.init)
            #expect(digest == expected[id]?.sha256, "event \(id) through pulsar-cli")
        }
        try await relay.stop()
    }

    /// Above `relay.max_event_bytes` the row is invalid: its dead letter carries every other
    /// column and the payload's size, and the events around it flow.
    @Test func eventAboveMaxEventBytesIsDeadLetteredWithoutItsPayload() async throws {
        let fixture = try RelayFixture()
        defer { fixture.cleanUp() }
        var configuration = fixture.configuration()
        configuration.relay.maxEventBytes = 1024 * 1024
        configuration.relay.deadLetterTopic = "persistent://public/default/dlq_\(fixture.id)"
        let letters = try await PulsarCollector(topic: configuration.relay.deadLetterTopic)
        defer { letters.stop() }
        let events = try await PulsarCollector(topic: fixture.topic)
        defer { events.stop() }
        let relay = try InProcessRelay(fixture, configuration: configuration)
        try await relay.startAndWaitUntilStreaming()
        try fixture.insert(firstID: 1, count: 1)
        try Self.insertLarge(fixture, id: 2, bytes: 2 * 1024 * 1024)
        try fixture.insert(firstID: 3, count: 1)
        let arrived = await events.waitForDistinctEvents(2, timeout: .seconds(60))
        #expect(Set(arrived.map(\.eventID)) == [1, 3])
        let letter = try #require(await letters.waitForDistinctEvents(1, timeout: .seconds(30)).first)
        #expect(letter.eventID == 2)
        #expect(letter.properties["dead_letter_reason"] == "payloadTooLarge")
        let size = try SQL.run("SELECT octet_length(payload::text) FROM \(fixture.schema).outbox WHERE id = 2;").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(letter.properties["payload_bytes"] == size)
        #expect(letter.payload.count < 1024 && !letter.payload.contains("\"payload\""))
        #expect(letter.payload.contains(#""aggregate_id":"agg-2""#))
        #expect(try await fixture.slotConfirmsCurrentWAL(within: .seconds(30)))
        try await relay.stop()
    }
}
