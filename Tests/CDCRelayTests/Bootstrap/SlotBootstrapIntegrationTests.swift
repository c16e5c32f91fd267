import Testing
@testable import CDCRelay
import TestSupport

@Suite("slot bootstrap against the local stack", .enabled(if: StackEnvironment.shouldRun), .timeLimit(.minutes(2)))
struct SlotBootstrapIntegrationTests {
    @Test func createsThenUsesThenRefusesAVanishedSlot() async throws {
        let fixture = try ReplicationFixture()
        do {
            let first = try await fixture.bootstrap()
            #expect(first.decision == .create)
            #expect(first.createdPublication)
            let publication = try SQL.run(
                "SELECT pubinsert, pubupdate, pubdelete FROM pg_publication WHERE pubname = '\(fixture.publication)'"
            )
            #expect(publication == "t|f|f")
            let record = try SQL.run(
                "SELECT created_lsn::text AS lsn, system_identifier FROM outbox_relay_slots WHERE slot_name = '\(fixture.slot)'"
            ).split(separator: "|").map(String.init)
            #expect(record.count == 2)
            #expect(record.first.flatMap { LSN($0) } == first.startLSN)
            #expect(record.last == first.system.systemID)

            let second = try await fixture.bootstrap()
            #expect(second.decision == .use)
            #expect(!second.createdPublication)

            try fixture.dropSlot()
            let error = await #expect(throws: ReplicationError.self) { _ = try await fixture.bootstrap() }
            #expect(error?.code == .slotVanished)
            #expect(error?.message.contains("vanished after use") == true)
            // Still refused on the next start: nothing was silently recreated.
            #expect(try SQL.run("SELECT 1 FROM pg_replication_slots WHERE slot_name = '\(fixture.slot)'").isEmpty)
            await #expect(throws: ReplicationError.self) { _ = try await fixture.bootstrap() }

            // Following the message's advice starts fresh.
            try SQL.run("DELETE FROM outbox_relay_slots WHERE slot_name = '\(fixture.slot)'")
            #expect(try await fixture.bootstrap().decision == .create)
        } catch {
            await fixture.cleanUp()
            throw error
        }
        await fixture.cleanUp()
    }

    @Test func adoptsAnUnrecordedSlot() async throws {
        let fixture = try ReplicationFixture()
        do {
            try SQL.run("SELECT pg_create_logical_replication_slot('\(fixture.slot)', 'pgoutput')")
            let outcome = try await fixture.bootstrap()
            #expect(outcome.decision == .adopt)
            #expect(try await fixture.bootstrap().decision == .use)
        } catch {
            await fixture.cleanUp()
            throw error
        }
        await fixture.cleanUp()
    }

    @Test func refusesASlotOfAnotherPlugin() async throws {
        let fixture = try ReplicationFixture()
        do {
            try SQL.run("SELECT pg_create_logical_replication_slot('\(fixture.slot)', 'test_decoding')")
            let error = await #expect(throws: ReplicationError.self) { _ = try await fixture.bootstrap() }
            #expect(error?.code == .slotMismatch)
        } catch {
            await fixture.cleanUp()
            throw error
        }
        await fixture.cleanUp()
    }
}
