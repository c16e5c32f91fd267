import OutboxCore
import Testing

@testable import CDCRelay

/// The preflight's decision over observed facts (no I/O): what blocks, what only warns.
@Suite struct PreflightCheckTests {
    static let check = PreflightCheck(
        table: OutboxTable(), mapping: OutboxColumnMapping(), slotName: "outbox_relay", publicationName: "outbox_pub", role: "outbox_relay")

    static var healthy: PreflightFacts {
        var facts = PreflightFacts()
        facts.walLevel = "logical"
        facts.role = .init(name: "outbox_relay", replication: true, superuser: false)
        facts.grants = [.init(privilege: "SELECT on public.outbox", granted: true), .init(privilege: "INSERT on outbox_relay_slots", granted: true)]
        facts.observedTable = true
        facts.table = .init(columns: [
            "id": "bigint", "aggregate_type": "text", "aggregate_id": "text", "event_type": "text", "payload": "jsonb",
            "headers": "jsonb", "created_at": "timestamp with time zone",
        ], partitioned: false)
        facts.observedPublication = true
        facts.publication = .init(coversTable: true, publishesInsert: true, viaPartitionRoot: false)
        facts.observedSlot = true
        facts.slot = .init(plugin: "pgoutput", walStatus: "reserved", active: false, retainedBytes: 4096)
        facts.slotRecorded = true
        facts.maxSlotWALKeepSizeMB = 1024
        facts.observedBroker = true
        return facts
    }

    static func finding(_ findings: [PreflightFinding], _ check: String) -> PreflightFinding? {
        findings.first { $0.check == check && $0.status != .ok } ?? findings.first { $0.check == check }
    }

    @Test func healthyFactsHaveNoBlockerAndNoWarning() {
        let findings = Self.check.evaluate(Self.healthy)
        #expect(!PreflightCheck.hasBlocker(findings))
        #expect(findings.allSatisfy { $0.status == .ok }, "\(findings.filter { $0.status != .ok })")
        #expect(Self.finding(findings, "slot")?.detail == "outbox_relay retains 4 KiB of WAL")
    }

    @Test func walLevelReplicaBlocksWithTheFix() {
        var facts = Self.healthy
        facts.walLevel = "replica"
        let findings = Self.check.evaluate(facts)
        #expect(PreflightCheck.hasBlocker(findings))
        let wal = Self.finding(findings, "wal_level")
        #expect(wal?.status == .blocker)
        #expect(wal?.detail.contains("wal_level = logical") == true)
    }

    @Test func aMissingGrantOrReplicationAttributeBlocks() {
        var facts = Self.healthy
        facts.grants[1].granted = false
        #expect(Self.finding(Self.check.evaluate(facts), "grant")?.detail == "outbox_relay lacks INSERT on outbox_relay_slots (see README, Least privilege)")
        facts = Self.healthy
        facts.role?.replication = false
        #expect(Self.finding(Self.check.evaluate(facts), "role")?.status == .blocker)
    }

    @Test func mappingAgainstColumns() {
        var facts = Self.healthy
        facts.table?.columns["payload"] = nil
        #expect(Self.finding(Self.check.evaluate(facts), "column payload")?.status == .blocker)
        facts = Self.healthy
        facts.table?.columns["id"] = "uuid"
        #expect(Self.finding(Self.check.evaluate(facts), "column id")?.status == .blocker)
        facts = Self.healthy
        facts.table?.columns["created_at"] = "date"
        #expect(Self.finding(Self.check.evaluate(facts), "column created_at")?.status == .blocker)
        facts = Self.healthy
        facts.table?.columns["headers"] = nil  // a table without headers: events without headers
        #expect(!PreflightCheck.hasBlocker(Self.check.evaluate(facts)))
        facts.table?.columns["headers"] = "text"
        #expect(Self.finding(Self.check.evaluate(facts), "column headers")?.status == .warning)

        // The seed's polling outbox under its mapping.
        var mapping = OutboxColumnMapping()
        mapping.aggregateType = .constant("product")
        mapping.aggregateID = .absent
        mapping.headers = .absent
        let polling = PreflightCheck(table: OutboxTable(), mapping: mapping, slotName: "s", publicationName: "p", role: "r")
        facts = Self.healthy
        facts.table = .init(columns: ["id": "integer", "event_type": "text", "payload": "text", "status": "text",
                                      "created_at": "timestamp without time zone", "processed_at": "timestamp without time zone"], partitioned: false)
        #expect(!PreflightCheck.hasBlocker(polling.evaluate(facts)), "\(polling.evaluate(facts).filter { $0.status == .blocker })")
    }

    @Test func publicationProblems() {
        var facts = Self.healthy
        facts.publication = nil
        #expect(Self.finding(Self.check.evaluate(facts), "publication")?.status == .warning, "the relay creates it")
        facts.publication = .init(coversTable: false, publishesInsert: true, viaPartitionRoot: false)
        #expect(Self.finding(Self.check.evaluate(facts), "publication")?.status == .blocker)
        facts.publication = .init(coversTable: true, publishesInsert: true, viaPartitionRoot: false)
        facts.table?.partitioned = true
        #expect(Self.finding(Self.check.evaluate(facts), "publication")?.detail.contains("publish_via_partition_root") == true)
        facts.publication?.viaPartitionRoot = true
        #expect(!PreflightCheck.hasBlocker(Self.check.evaluate(facts)))
    }

    @Test func slotStates() {
        var facts = Self.healthy
        facts.slot?.walStatus = "lost"
        #expect(Self.finding(Self.check.evaluate(facts), "slot")?.status == .blocker)
        facts.slot = nil
        #expect(Self.finding(Self.check.evaluate(facts), "slot")?.detail.contains("vanished") == true, "recorded but gone")
        facts.slotRecorded = false
        #expect(Self.finding(Self.check.evaluate(facts), "slot")?.status == .ok, "a first start creates it")
        facts = Self.healthy
        facts.slot?.active = true
        #expect(Self.finding(Self.check.evaluate(facts), "slot")?.status == .warning)
        facts.maxSlotWALKeepSizeMB = -1
        #expect(Self.finding(Self.check.evaluate(facts), "max_slot_wal_keep_size")?.status == .warning)
    }

    @Test func connectionAndBrokerFailures() {
        var facts = PreflightFacts()
        facts.connectionError = "FATAL: password authentication failed"
        facts.observedBroker = true
        facts.brokerError = "connection refused"
        let findings = Self.check.evaluate(facts)
        #expect(findings.map(\.check) == ["connection", "broker"])
        #expect(findings.allSatisfy { $0.status == .blocker })
    }

    @Test func theReportIsOneAlignedTable() {
        var facts = Self.healthy
        facts.walLevel = "replica"
        let report = PreflightReport.render(Self.check.evaluate(facts))
        let lines = report.split(separator: "\n")
        #expect(lines.first?.hasPrefix("CHECK") == true)
        let statusColumn = lines.first.flatMap { $0.range(of: "STATUS") }.map { lines[0].distance(from: lines[0].startIndex, to: $0.lowerBound) }
        #expect(lines.dropFirst().dropLast().allSatisfy { line in
            guard let statusColumn else { return false }
            let status = line.dropFirst(statusColumn).prefix { $0 != " " }
            return ["OK", "WARNING", "BLOCKER"].contains(String(status))
        })
        #expect(lines.last == "not ready: 1 blocker, 0 warnings")
    }
}
