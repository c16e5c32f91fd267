import Foundation
import Testing

@testable import CDCRelay
import TestSupport

/// The relay while the stack's broker or Postgres is stopped. The broker is stopped with SIGKILL:
/// pulsar-lite takes 10 s to give up on SIGTERM (then the stack script kills it anyway). Opt-in (REPL_FAULT_TESTS=1, run last
/// by scripts/test): other suites sharing the stack would fail meanwhile.
@Suite(
    .serialized,
    .enabled(if: StackEnvironment.shouldRun && ProcessInfo.processInfo.environment["REPL_FAULT_TESTS"] == "1"),
    .timeLimit(.minutes(3))
)
struct RelayFaultTests {
    @Test func brokerDownHoldsTheSlotAndEverythingArrivesAfterwards() async throws {
        let fixture = try RelayFixture()
        defer { fixture.cleanUp() }
        let collector = try await PulsarCollector(topic: fixture.topic)
        defer { collector.stop() }
        let relay = try InProcessRelay(fixture)
        try await relay.startAndWaitUntilStreaming()
        try fixture.insert(firstID: 1, count: 10)
        #expect(Set(await collector.waitForDistinctEvents(10, timeout: .seconds(30)).map(\.eventID)).count == 10)
        let before = try fixture.currentWALLSN()
        #expect(try await waitUntil(timeout: .seconds(20)) { (try fixture.confirmedFlushLSN() ?? 0) >= before })
        collector.stop()

        try await StackEnvironment.stack("broker-kill")
        // Highest confirmed_flush_lsn seen while the broker is down.
        var confirmedDuringOutage: UInt64 = 0
        do {
            for batch in 0..<10 { try fixture.insert(firstID: 100 + Int64(batch) * 10, count: 10) }
            // The events are read and handed to the client, which holds them while it reconnects:
            // the relay reports not ready once nothing was acknowledged for the stall threshold.
            #expect(try await waitUntil(timeout: .seconds(20)) {
                confirmedDuringOutage = max(confirmedDuringOutage, try fixture.confirmedFlushLSN() ?? 0)
                return relay.health.status == .reconnecting
            })
            #expect(relay.health.detail?.contains("with 100 events in flight") == true, "\(relay.health.detail ?? "-")")
            confirmedDuringOutage = max(confirmedDuringOutage, try fixture.confirmedFlushLSN() ?? 0)
        } catch {
            try? await StackEnvironment.stack("broker-start")
            throw error
        }
        try await StackEnvironment.stack("broker-start")
        let brokerBack = ContinuousClock.now

        // Our consumer, for the sequence ids (they carry each event's commit LSN).
        let again = try await SequenceCollector(topic: fixture.topic, subscription: "after-outage")
        let messages = await again.waitForDistinctEvents(110, timeout: .seconds(60))
        await again.stop()
        let arrived = ContinuousClock.now - brokerBack
        let expected: Set<Int64> = Set(1...10).union(100..<200)
        let received = Set(messages.map(\.eventID))
        #expect(received == expected)
        // The slot may move past WAL that holds none of our events (idle keepalives), never past
        // the commit of an event the broker had not acknowledged.
        let firstOutageCommit = messages.filter { $0.eventID >= 100 }.map { UInt64($0.sequenceID) >> SequenceIDScheme.ordinalBits }.min() ?? 0
        #expect(confirmedDuringOutage > 0 && confirmedDuringOutage <= firstOutageCommit,
                "confirmed \(LSNFormat.string(confirmedDuringOutage)) while the broker was down; first unacknowledged commit \(LSNFormat.string(firstOutageCommit))")
        #expect(try await fixture.slotConfirmsCurrentWAL(within: .seconds(20)))
        let confirmed = ContinuousClock.now - brokerBack
        #expect(try await waitUntil(timeout: .seconds(10)) { relay.health.isReady })
        // An outage is backpressure: the same session waited and resumed, nothing was replayed.
        let metrics = relay.metrics.registry.emitToString()
        #expect(metrics.contains("outbox_relay_session_failures_total 0"), "\(metrics)")
        #expect(metrics.contains("outbox_relay_events_published_total 110"))
        #expect(arrived < .seconds(15), "recovery took \(arrived)")
        print("[timing] broker back → all events at the broker \(arrived), slot confirmed \(confirmed)")
        try await relay.stop()
    }

    @Test func relayStartedWhileTheBrokerIsDownPublishesOnceItIsBack() async throws {
        let fixture = try RelayFixture()
        defer { fixture.cleanUp() }
        try await StackEnvironment.stack("broker-kill")
        let relay: InProcessRelay
        do {
            relay = try InProcessRelay(fixture)
            relay.start()
            // The slot is created before anything needs the broker; rows after it are streamed.
            #expect(try await waitUntil(timeout: .seconds(20)) { try fixture.confirmedFlushLSN() != nil })
            try fixture.insert(firstID: 1, count: 20)
            #expect(try await waitUntil(timeout: .seconds(20)) { relay.health.status == .reconnecting })
            #expect(try await waitUntil(timeout: .seconds(5), { !relay.health.isReady }))
        } catch {
            try? await StackEnvironment.stack("broker-start")
            throw error
        }
        try await StackEnvironment.stack("broker-start")
        let brokerBack = ContinuousClock.now
        let collector = try await PulsarCollector(topic: fixture.topic)
        defer { collector.stop() }
        let messages = await collector.waitForDistinctEvents(20, timeout: .seconds(30))
        let arrived = ContinuousClock.now - brokerBack
        #expect(Set(messages.map(\.eventID)) == Set(1...20))
        #expect(try await fixture.slotConfirmsCurrentWAL(within: .seconds(20)))
        #expect(relay.health.isReady)
        #expect(arrived < .seconds(10), "recovery took \(arrived)")
        print("[timing] relay started during the outage: all events at the broker \(arrived) after it was back")
        try await relay.stop()
    }

    @Test func gracefulStopWhileTheBrokerIsDownEndsWithinTheShutdownTimeoutAndConfirmsNothing() async throws {
        let fixture = try RelayFixture()
        defer { fixture.cleanUp() }
        var configuration = fixture.configuration()
        configuration.relay.shutdownTimeout = .seconds(2)
        let relay = try InProcessRelay(fixture, configuration: configuration)
        try await relay.startAndWaitUntilStreaming()
        try fixture.insert(firstID: 1, count: 10)
        let written = try fixture.currentWALLSN()
        #expect(try await waitUntil(timeout: .seconds(20)) { (try fixture.confirmedFlushLSN() ?? 0) >= written })

        try await StackEnvironment.stack("broker-kill")
        let stopTook: Duration
        let confirmedAfterStop: UInt64
        do {
            try fixture.insert(firstID: 100, count: 50)
            #expect(try await waitUntil(timeout: .seconds(20)) { relay.health.status == .reconnecting })
            let stopping = ContinuousClock.now
            try await relay.stop()
            stopTook = ContinuousClock.now - stopping
            confirmedAfterStop = try #require(try fixture.confirmedFlushLSN())
        } catch {
            try? await StackEnvironment.stack("broker-start")
            throw error
        }
        try await StackEnvironment.stack("broker-start")
        // 2 s drain + 1 s bounded producer close + the final status.
        #expect(stopTook < .seconds(5), "stopping took \(stopTook)")
        print("[timing] graceful stop with the broker down: \(stopTook)")

        // The next relay replays them from the slot: the final status did not confirm them.
        let collector = try await SequenceCollector(topic: fixture.topic, subscription: "after-stop")
        let next = try InProcessRelay(fixture)
        try await next.startAndWaitUntilStreaming()
        let messages = await collector.waitForDistinctEvents(60, timeout: .seconds(30))
        await collector.stop()
        let received = Set(messages.map(\.eventID))
        #expect(received.isSuperset(of: Set(100..<150)))
        let unacknowledgedCommit = messages.filter { $0.eventID >= 100 }.map { UInt64($0.sequenceID) >> SequenceIDScheme.ordinalBits }.min() ?? 0
        #expect(confirmedAfterStop <= unacknowledgedCommit, "the final status confirmed unacknowledged events")
        #expect(try await fixture.slotConfirmsCurrentWAL(within: .seconds(20)))
        try await next.stop()
    }

    @Test func postgresRestartMidStreamResumesWithoutLoss() async throws {
        let fixture = try RelayFixture()
        defer { fixture.cleanUp() }
        let collector = try await PulsarCollector(topic: fixture.topic)
        defer { collector.stop() }
        let relay = try InProcessRelay(fixture)
        try await relay.startAndWaitUntilStreaming()
        for batch in 0..<10 { try fixture.insert(firstID: Int64(batch) * 100, count: 100) }
        try await StackEnvironment.stack("pg-stop")
        #expect(try await waitUntil(timeout: .seconds(20)) { !relay.health.isReady })
        let postgresBack = ContinuousClock.now  // pg-start itself takes about a second
        try await StackEnvironment.stack("pg-start")
        #expect(try await waitUntil(timeout: .seconds(30)) { relay.health.isReady })
        let resumed = ContinuousClock.now - postgresBack
        for batch in 10..<20 { try fixture.insert(firstID: Int64(batch) * 100, count: 100) }
        let messages = await collector.waitForDistinctEvents(2000, timeout: .seconds(60))
        let missing = Set((0..<2000).map(Int64.init)).subtracting(messages.map(\.eventID))
        #expect(missing.isEmpty, "missing \(missing.count) events")
        #expect(try await fixture.slotConfirmsCurrentWAL(within: .seconds(20)))
        #expect(!relay.metrics.registry.emitToString().contains("outbox_relay_reconnects_total 0"), "the relay reconnected")
        // Replays after the restart carry the original ids.
        var firstSequence: [Int64: Int64] = [:]
        for message in messages {
            if let sequence = firstSequence[message.eventID] {
                #expect(sequence == message.sequenceID, "event \(message.eventID) replayed with another sequence id")
            } else {
                firstSequence[message.eventID] = message.sequenceID
            }
        }
        #expect(resumed < .seconds(10), "streaming again \(resumed) after pg-start")
        print("[timing] pg-start → relay streaming \(resumed); duplicates \(messages.count - firstSequence.count)")
        try await relay.stop()
    }
}
