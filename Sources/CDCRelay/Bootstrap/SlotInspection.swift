/// The slot as `pg_replication_slots` shows it.
public struct ObservedSlot: Sendable, Hashable {
    public var slotType: String
    public var plugin: String?
    public var database: String?
    /// `reserved`, `extended`, `unreserved` or `lost`.
    public var walStatus: String?
    public var confirmedFlushLSN: LSN?
    public var activePID: Int?

    public init(slotType: String, plugin: String?, database: String?, walStatus: String?, confirmedFlushLSN: LSN?, activePID: Int?) {
        self.slotType = slotType
        self.plugin = plugin
        self.database = database
        self.walStatus = walStatus
        self.confirmedFlushLSN = confirmedFlushLSN
        self.activePID = activePID
    }
}

/// The row in `outbox_relay_slots` written when the relay created (or first adopted) the slot.
public struct SlotRecord: Sendable, Hashable {
    public var systemIdentifier: String
    public var database: String
    public var createdLSN: LSN

    public init(systemIdentifier: String, database: String, createdLSN: LSN) {
        self.systemIdentifier = systemIdentifier
        self.database = database
        self.createdLSN = createdLSN
    }
}

/// What the bootstrap does with a slot, decided from what it observed (pure, so every case is
/// testable without a server).
public enum SlotDecision: Sendable, Hashable {
    /// No slot and no record: a first start.
    case create
    /// Our recorded slot is there and healthy.
    case use
    /// A healthy slot without a record (made by hand or before the table existed): record it and use it.
    case adopt

    public static func decide(
        slotName: String,
        slot: ObservedSlot?,
        record: SlotRecord?,
        systemIdentifier: String,
        database: String
    ) throws(ReplicationError) -> SlotDecision {
        let recover = "to recover without losing events, stop every relay on it and run `cdc-relay recover` (new slot, and the rows the old one may not have delivered published again from the table)"
        let forget = "delete its row with DELETE FROM outbox_relay_slots WHERE slot_name = '\(slotName)'"
        if let record, record.systemIdentifier != systemIdentifier || record.database != database {
            throw ReplicationError(
                code: .slotReplaced,
                message: "slot \(slotName) was recorded on system \(record.systemIdentifier) database \(record.database), "
                    + "but this is system \(systemIdentifier) database \(database) (restored or replaced cluster?): "
                    + "events may be missing or repeated; \(recover); to accept that and start fresh, \(forget)"
            )
        }
        guard let slot else {
            if let record {
                throw ReplicationError(
                    code: .slotVanished,
                    message: "slot \(slotName) vanished after use (created at \(record.createdLSN)): events between the last "
                        + "confirmed LSN and now may be missing; \(recover); to accept the gap and start fresh, \(forget)"
                )
            }
            return .create
        }
        guard slot.slotType == "logical", slot.plugin == "pgoutput", slot.database == database else {
            throw ReplicationError(
                code: .slotMismatch,
                message: "slot \(slotName) exists but is \(slot.slotType) / plugin \(slot.plugin ?? "none") / database "
                    + "\(slot.database ?? "none"); the relay needs a logical pgoutput slot in \(database): "
                    + "choose another slot name or drop that slot"
            )
        }
        if slot.walStatus == "lost" {
            throw ReplicationError(
                code: .slotLost,
                message: "slot \(slotName) is lost (wal_status = 'lost': the server removed WAL it still needed): events "
                    + "after \(slot.confirmedFlushLSN.map { "\($0)" } ?? "its confirmed LSN") are gone from the WAL; \(recover); to accept the gap, "
                    + "SELECT pg_drop_replication_slot('\(slotName)') and \(forget), then restart"
            )
        }
        guard let record else { return .adopt }
        // A slot's confirmed position only moves forward from its creation point.
        if let confirmed = slot.confirmedFlushLSN, confirmed < record.createdLSN {
            throw ReplicationError(
                code: .slotReplaced,
                message: "slot \(slotName) is at \(confirmed), before its recorded creation point \(record.createdLSN): "
                    + "it is not the slot the relay created; events may be missing; \(recover); to accept that, \(forget)"
            )
        }
        return .use
    }
}
