import Foundation
import Testing

@testable import CDCRelay
import TestSupport

/// `kill -9` of the relay while it publishes chunked messages: after the restart every event
/// arrives whole; a replayed copy carries the same sequence id and the same bytes, and no
/// incomplete chunk sequence is ever delivered.
@Suite(
    .serialized,
    .enabled(if: StackEnvironment.shouldRun && ProcessInfo.processInfo.environment["REPL_FAULT_TESTS"] == "1"),
    .timeLimit(.minutes(4))
)
struct ChunkedPublishFaultTests {
    static let blobBytes = 12 * 1024 * 1024
    static let events: [Int64] = [1, 2, 3, 4, 5, 6]

    @Test func killedDuringAChunkedPublishEveryEventArrivesWholeWithItsSequenceID() async throws {
        let fixture = try RelayDatabaseFixture()
        defer { fixture.cleanUp() }
        let collector = try await SequenceCollector(topic: fixture.topic)
        var relay = try RelayProcess(fixture)
        try await RelayProcessFaultTests.requireStatus(relay, "streaming")

        for id in Self.events {
            try SQL.run("""
                INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload)
                VALUES (\(id), 'product', 'agg-\(id)', 'product.created', jsonb_build_object('id', \(id), 'blob', repeat('x', \(Self.blobBytes))));
                """, user: "app", database: fixture.database)
        }
        // Kill as soon as the first chunked event is at the broker: the rest are mid-publish.
        #expect(await waitUntil(timeout: .seconds(60), interval: .milliseconds(20)) { !collector.received.isEmpty })
        await relay.kill9()
        let arrivedBeforeKill = Set(collector.received.map(\.eventID)).count
        relay = try RelayProcess(fixture)
        try await RelayProcessFaultTests.requireStatus(relay, "streaming")

        let messages = await collector.waitForDistinctEvents(Self.events.count, timeout: .seconds(120))
        let sizes = try SQL.run("SELECT string_agg(octet_length(payload::text)::text, ',' ORDER BY id) FROM outbox;", database: fixture.database)
        let expectedSize = try #require(Int(sizes.split(separator: ",").first.map(String.init)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
        let copies = Dictionary(grouping: messages, by: \.eventID)
        #expect(Set(copies.keys) == Set(Self.events), "every event arrived")
        for (eventID, group) in copies {
            for copy in group {
                #expect(copy.payload.utf8.count == expectedSize, "event \(eventID) whole")
                #expect(copy.payload.hasPrefix("{\"id\": \(eventID), \"blob\": \"xxx") && copy.payload.hasSuffix("xxx\"}"), "event \(eventID) intact")
            }
            #expect(Set(group.map(\.sequenceID)).count == 1, "event \(eventID): every copy has the same sequence id")
            #expect(Set(group.map(\.payload)).count == 1, "event \(eventID): every copy has the same bytes")
        }
        let perEvent = copies.keys.sorted().map { "\($0):\(copies[$0]?.count ?? 0)" }
        print("chunked kill -9 figures: \(arrivedBeforeKill) of \(Self.events.count) events of \(expectedSize) bytes at the broker before the kill; copies per event \(perEvent)")
        await collector.stop()
        #expect(await relay.terminate(timeout: .seconds(15)) == 0)
    }
}
