import OutboxCore

/// Decides, from observed facts only, what would stop the relay. Pure: unit-tested over facts;
/// `PreflightCollector` gathers them from the real database and broker.
public struct PreflightCheck: Sendable {
    public var table: OutboxTable
    public var mapping: OutboxColumnMapping
    public var slotName: String
    public var publicationName: String
    public var role: String

    public init(table: OutboxTable, mapping: OutboxColumnMapping, slotName: String, publicationName: String, role: String) {
        self.table = table
        self.mapping = mapping
        self.slotName = slotName
        self.publicationName = publicationName
        self.role = role
    }

    public static func hasBlocker(_ findings: [PreflightFinding]) -> Bool {
        findings.contains { $0.status == .blocker }
    }

    public func evaluate(_ facts: PreflightFacts) -> [PreflightFinding] {
        var findings: [PreflightFinding] = []
        if let error = facts.connectionError {
            findings.append(.init("connection", .blocker, "cannot connect as \(role) for replication: \(error)"))
        } else {
            findings.append(.init("connection", .ok, "replication connection as \(role)"))
            findings.append(walLevel(facts.walLevel))
            findings.append(roleFinding(facts.role))
            findings += facts.grants.map { grant in
                grant.granted
                    ? PreflightFinding("grant", .ok, grant.privilege)
                    : grant.optional
                        ? PreflightFinding("grant", .warning, "\(role) lacks \(grant.privilege): the acknowledged progress is not recorded, so a Postgres crash replays more and recover has no starting point (see README, Least privilege)")
                        : PreflightFinding("grant", .blocker, "\(role) lacks \(grant.privilege) (see README, Least privilege)")
            }
            findings += tableFindings(facts)
            findings.append(publicationFinding(facts))
            findings.append(slotFinding(facts))
            findings.append(keepSize(facts.maxSlotWALKeepSizeMB))
        }
        findings.append(brokerFinding(facts))
        return findings
    }

    private func walLevel(_ level: String?) -> PreflightFinding {
        guard let level else { return .init("wal_level", .blocker, "not readable") }
        return level == "logical"
            ? .init("wal_level", .ok, "logical")
            : .init("wal_level", .blocker, "\(level): logical decoding needs wal_level = logical (ALTER SYSTEM SET wal_level = logical; restart Postgres)")
    }

    private func roleFinding(_ observed: PreflightFacts.Role?) -> PreflightFinding {
        guard let observed else { return .init("role", .blocker, "\(role) not found in pg_roles") }
        if observed.superuser { return .init("role", .warning, "\(observed.name) is a superuser: works, but the relay needs only REPLICATION") }
        return observed.replication
            ? .init("role", .ok, "\(observed.name) has REPLICATION")
            : .init("role", .blocker, "\(observed.name) lacks REPLICATION (ALTER ROLE \(observed.name) REPLICATION)")
    }

    private func tableFindings(_ facts: PreflightFacts) -> [PreflightFinding] {
        guard facts.observedTable else { return [.init("table", .blocker, "\(table) not checked")] }
        guard let observed = facts.table else {
            return [.init("table", .blocker, "\(table) does not exist or is not visible to \(role) (relay.table)")]
        }
        var findings = [PreflightFinding("table", .ok, "\(table)\(observed.partitioned ? " (partitioned)" : "")")]
        let sources: [(key: String, source: OutboxColumnSource, kind: ColumnKind)] = [
            ("id", mapping.id, .integer), ("aggregate_type", mapping.aggregateType, .text),
            ("aggregate_id", mapping.aggregateID, .text), ("event_type", mapping.eventType, .text),
            ("payload", mapping.payload, .payload), ("created_at", mapping.createdAt, .timestamp),
            ("headers", mapping.headers, .json),
        ]
        for (key, source, kind) in sources {
            let check = "column \(key)"
            switch source {
            case .constant(let text):
                findings.append(.init(check, .ok, "constant '\(text)'"))
            case .absent:
                findings.append(.init(check, .ok, key == "created_at" ? "absent: the commit time" : key == "aggregate_id" ? "absent: the event id is the key" : "absent"))
            case .column(let name):
                guard let type = observed.columns[name] else {
                    // A table without the default headers column has events without headers.
                    if key == "headers" { findings.append(.init(check, .ok, "\(name) not in the table: no headers")); continue }
                    findings.append(.init(check, .blocker, "\(table) has no column \(name) (relay.columns.\(key))"))
                    continue
                }
                findings.append(kind.judge(column: name, type: type, key: key))
            }
        }
        return findings
    }

    private func publicationFinding(_ facts: PreflightFacts) -> PreflightFinding {
        guard facts.observedPublication else { return .init("publication", .blocker, "\(publicationName) not checked") }
        guard let publication = facts.publication else {
            return .init("publication", .warning, "\(publicationName) does not exist: the relay creates it at start, which needs ownership of \(table)")
        }
        if !publication.coversTable {
            return .init("publication", .blocker, "\(publicationName) does not publish \(table) (ALTER PUBLICATION \(publicationName) ADD TABLE \(table))")
        }
        if !publication.publishesInsert {
            return .init("publication", .blocker, "\(publicationName) does not publish inserts (publish = 'insert')")
        }
        if facts.table?.partitioned == true, !publication.viaPartitionRoot {
            return .init("publication", .blocker, "\(table) is partitioned: \(publicationName) needs publish_via_partition_root = true")
        }
        return .init("publication", .ok, "\(publicationName) publishes inserts of \(table)")
    }

    private func slotFinding(_ facts: PreflightFacts) -> PreflightFinding {
        guard facts.observedSlot else { return .init("slot", .blocker, "\(slotName) not checked") }
        guard let slot = facts.slot else {
            return facts.slotRecorded
                ? .init("slot", .blocker, "\(slotName) was used before and has vanished: the relay refuses (events may be lost); see docs/outbox-lifecycle.md")
                : .init("slot", .ok, "\(slotName) does not exist yet: the relay creates it (rows committed before are not streamed)")
        }
        if slot.plugin != "pgoutput" {
            return .init("slot", .blocker, "\(slotName) is not a pgoutput logical slot (plugin \(slot.plugin ?? "none"))")
        }
        if slot.walStatus == "lost" {
            return .init("slot", .blocker, "\(slotName) is lost (max_slot_wal_keep_size exceeded): the relay refuses to stream")
        }
        let retained = slot.retainedBytes.map { " retains \(Self.bytes($0)) of WAL" } ?? ""
        if slot.walStatus == "unreserved" {
            return .init("slot", .warning, "\(slotName)\(retained), about to be lost (wal_status unreserved)")
        }
        if slot.active {
            return .init("slot", .warning, "\(slotName)\(retained), in use by another relay (this one would wait as a standby)")
        }
        return .init("slot", .ok, "\(slotName)\(retained)")
    }

    private func keepSize(_ megabytes: Int?) -> PreflightFinding {
        guard let megabytes else { return .init("max_slot_wal_keep_size", .warning, "not readable") }
        return megabytes < 0
            ? .init("max_slot_wal_keep_size", .warning, "unlimited: a stopped relay makes Postgres keep WAL until the disk is full")
            : .init("max_slot_wal_keep_size", .ok, "\(megabytes) MB: a relay stopped longer than that loses its slot")
    }

    private func brokerFinding(_ facts: PreflightFacts) -> PreflightFinding {
        guard facts.observedBroker else { return .init("broker", .blocker, "not checked") }
        if let error = facts.brokerError { return .init("broker", .blocker, "unreachable: \(error)") }
        return .init("broker", .ok, "answered a lookup of the topic")
    }

    static func bytes(_ count: UInt64) -> String {
        count >= 1 << 20 ? "\(count >> 20) MiB" : count >= 1 << 10 ? "\(count >> 10) KiB" : "\(count) B"
    }
}

/// Which Postgres types a mapped column may have: its text form must be what the mapper parses.
enum ColumnKind: Sendable {
    case integer, text, payload, timestamp, json

    func judge(column: String, type: String, key: String) -> PreflightFinding {
        let check = "column \(key)"
        switch self {
        case .integer:
            return ["bigint", "integer", "smallint"].contains(type)
                ? .init(check, .ok, "\(column) \(type)")
                : .init(check, .blocker, "\(column) is \(type): the event id must be bigint, integer or smallint")
        case .timestamp:
            if type == "timestamp with time zone" { return .init(check, .ok, "\(column) \(type)") }
            if type == "timestamp without time zone" { return .init(check, .ok, "\(column) \(type) (read as UTC)") }
            return .init(check, .blocker, "\(column) is \(type): created_at must be a timestamp (or mapped as absent)")
        case .json:
            if type == "jsonb" || type == "json" { return .init(check, .ok, "\(column) \(type)") }
            if type == "text" { return .init(check, .warning, "\(column) text: every value must be a JSON object or the row is invalid") }
            return .init(check, .blocker, "\(column) is \(type): headers must be jsonb or json (or mapped as absent)")
        case .payload:
            return type == "bytea"
                ? .init(check, .warning, "\(column) bytea: consumers receive its hex text form (\\x...)")
                : .init(check, .ok, "\(column) \(type)")
        case .text:
            return .init(check, .ok, "\(column) \(type)")
        }
    }
}
