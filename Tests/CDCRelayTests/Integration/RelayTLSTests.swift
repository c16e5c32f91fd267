import Foundation
import OutboxCore
import Testing

@testable import CDCRelay
import TestSupport

/// The relay's libpq connections (replication and monitor) under `database.ssl_mode`, against
/// the stack's Postgres and its own CA: the same meaning as the API's pool.
@Suite(.serialized, .enabled(if: StackEnvironment.shouldRun), .timeLimit(.minutes(3)))
struct RelayTLSTests {
    static func configuration(_ fixture: RelayFixture, mode: DatabaseSSLMode, rootCert: String?) -> OutboxConfiguration {
        var configuration = fixture.configuration()
        configuration.database.sslMode = mode
        configuration.database.sslRootCert = rootCert
        return configuration
    }

    @Test func verifyFullStreamsOverEncryptedConnections() async throws {
        let fixture = try RelayFixture()
        defer { fixture.cleanUp() }
        let collector = try await PulsarCollector(topic: fixture.topic)
        defer { collector.stop() }
        let ca = try #require(StackEnvironment.environment["STACK_PG_CA"])
        let relay = try InProcessRelay(fixture, configuration: Self.configuration(fixture, mode: .verifyFull, rootCert: ca))
        try await relay.startAndWaitUntilStreaming()
        try fixture.insert(firstID: 1, count: 10)
        #expect(Set(await collector.waitForDistinctEvents(10, timeout: .seconds(30)).map(\.eventID)).count == 10)
        // The walsender connection is encrypted; the monitor (a short connection every 15 s) is
        // given the same TLS parameters.
        let sql = """
            SELECT 'walsender=' || s.ssl FROM pg_stat_ssl s JOIN pg_replication_slots r ON r.active_pid = s.pid
            WHERE r.slot_name = '\(fixture.slot)';
            """
        let walsender = try SQL.run(sql).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(walsender == "walsender=true", "\(walsender)")
        let monitor = RelayApplication.conninfo(relay.application.configuration.database)
        #expect(monitor.contains("sslmode='verify-full'") && monitor.contains("sslrootcert='\(ca)'"), "\(monitor)")
        try await relay.stop()
    }

    /// The stack's Postgres also listens on 127.0.0.2, a name its certificate does not carry.
    @Test func verifyFullRefusesAWrongHostName() async throws {
        let fixture = try RelayFixture()
        defer { fixture.cleanUp() }
        let ca = try #require(StackEnvironment.environment["STACK_PG_CA"])
        var configuration = Self.configuration(fixture, mode: .verifyFull, rootCert: ca)
        configuration.database.host = "127.0.0.2"
        let relay = try InProcessRelay(fixture, configuration: configuration, logLevel: .critical)
        relay.start()
        #expect(await waitUntil(timeout: .seconds(20)) { relay.health.status == .reconnecting })
        #expect(relay.health.detail?.contains("does not match host name") == true, "\(relay.health.detail ?? "")")
        #expect(!relay.health.isReady)
        try await relay.stop()
    }

    @Test func verifyFullRefusesAServerItsCADidNotSign() async throws {
        let fixture = try RelayFixture()
        defer { fixture.cleanUp() }
        let wrongCA = try #require(StackEnvironment.environment["STACK_PG_CLIENT_CERT"])
        let relay = try InProcessRelay(fixture, configuration: Self.configuration(fixture, mode: .verifyFull, rootCert: wrongCA), logLevel: .critical)
        relay.start()
        #expect(await waitUntil(timeout: .seconds(20)) { relay.health.status == .reconnecting })
        #expect(relay.health.detail?.contains("certificate") == true, "\(relay.health.detail ?? "")")
        #expect(!relay.health.isReady)
        try await relay.stop()
    }
}
