import Testing
@testable import CDCRelay

@Suite("slot bootstrap decisions")
struct SlotDecisionTests {
    let system = "7311234567890123456"
    let healthy = ObservedSlot(slotType: "logical", plugin: "pgoutput", database: "app", walStatus: "reserved", confirmedFlushLSN: LSN(0x500), activePID: nil)
    var record: SlotRecord { SlotRecord(systemIdentifier: system, database: "app", createdLSN: LSN(0x100)) }

    private func decide(_ slot: ObservedSlot?, _ record: SlotRecord?) throws(ReplicationError) -> SlotDecision {
        try SlotDecision.decide(slotName: "relay", slot: slot, record: record, systemIdentifier: system, database: "app")
    }

    @Test func firstStartCreates() throws {
        #expect(try decide(nil, nil) == .create)
    }

    @Test func recordedHealthySlotIsUsed() throws {
        #expect(try decide(healthy, record) == .use)
        var extended = healthy
        extended.walStatus = "extended"
        #expect(try decide(extended, record) == .use)
    }

    @Test func unrecordedHealthySlotIsAdopted() throws {
        #expect(try decide(healthy, nil) == .adopt)
    }

    @Test func vanishedAfterUseIsRefused() {
        let error = #expect(throws: ReplicationError.self) { try decide(nil, record) }
        #expect(error?.code == .slotVanished)
        #expect(error?.message.contains("vanished after use") == true)
        #expect(error?.message.contains("DELETE FROM outbox_relay_slots WHERE slot_name = 'relay'") == true)
    }

    @Test func lostSlotIsRefused() {
        var lost = healthy
        lost.walStatus = "lost"
        for record in [record, nil] as [SlotRecord?] {
            let error = #expect(throws: ReplicationError.self) { try decide(lost, record) }
            #expect(error?.code == .slotLost)
            #expect(error?.message.contains("pg_drop_replication_slot('relay')") == true)
        }
    }

    @Test func slotBehindItsRecordedCreationIsReplaced() {
        var older = healthy
        older.confirmedFlushLSN = LSN(0x50)
        let error = #expect(throws: ReplicationError.self) { try decide(older, record) }
        #expect(error?.code == .slotReplaced)
    }

    @Test func recordFromAnotherSystemIsRefused() {
        let foreign = SlotRecord(systemIdentifier: "1", database: "app", createdLSN: LSN(1))
        for slot in [healthy, nil] as [ObservedSlot?] {
            let error = #expect(throws: ReplicationError.self) { try decide(slot, foreign) }
            #expect(error?.code == .slotReplaced)
        }
    }

    @Test func wrongKindOfSlotIsRefused() {
        let variants = [
            ObservedSlot(slotType: "physical", plugin: nil, database: nil, walStatus: "reserved", confirmedFlushLSN: nil, activePID: nil),
            ObservedSlot(slotType: "logical", plugin: "test_decoding", database: "app", walStatus: "reserved", confirmedFlushLSN: LSN(1), activePID: nil),
            ObservedSlot(slotType: "logical", plugin: "pgoutput", database: "other", walStatus: "reserved", confirmedFlushLSN: LSN(1), activePID: nil),
        ]
        for slot in variants {
            let error = #expect(throws: ReplicationError.self) { try decide(slot, nil) }
            #expect(error?.code == .slotMismatch)
        }
    }
}
