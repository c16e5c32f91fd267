/// What `cdc-relay check` observed, gathered before any decision (see `PreflightCheck`).
/// A nil section was not observed (the connection failed first); the decision says so.
public struct PreflightFacts: Sendable, Hashable {
    public struct Role: Sendable, Hashable {
        public var name: String
        public var replication: Bool
        public var superuser: Bool
        public init(name: String, replication: Bool, superuser: Bool) {
            self.name = name
            self.replication = replication
            self.superuser = superuser
        }
    }

    /// One privilege the relay needs, and whether the role has it.
    public struct Grant: Sendable, Hashable {
        public var privilege: String
        public var granted: Bool
        /// Without it the relay streams, but something it offers does not work (a warning).
        public var optional: Bool
        public init(privilege: String, granted: Bool, optional: Bool = false) {
            self.privilege = privilege
            self.granted = granted
            self.optional = optional
        }
    }

    public struct Table: Sendable, Hashable {
        /// Column name → `format_type` (e.g. `bigint`, `timestamp with time zone`).
        public var columns: [String: String]
        public var partitioned: Bool
        public init(columns: [String: String], partitioned: Bool) {
            self.columns = columns
            self.partitioned = partitioned
        }
    }

    public struct Publication: Sendable, Hashable {
        public var coversTable: Bool
        public var publishesInsert: Bool
        public var viaPartitionRoot: Bool
        public init(coversTable: Bool, publishesInsert: Bool, viaPartitionRoot: Bool) {
            self.coversTable = coversTable
            self.publishesInsert = publishesInsert
            self.viaPartitionRoot = viaPartitionRoot
        }
    }

    public struct Slot: Sendable, Hashable {
        public var plugin: String?
        public var walStatus: String?
        public var active: Bool
        public var retainedBytes: UInt64?
        public init(plugin: String?, walStatus: String?, active: Bool, retainedBytes: UInt64?) {
            self.plugin = plugin
            self.walStatus = walStatus
            self.active = active
            self.retainedBytes = retainedBytes
        }
    }

    /// The relay's (replication) connection failed: its error.
    public var connectionError: String?
    public var walLevel: String?
    public var role: Role?
    public var grants: [Grant] = []
    /// With `observedTable`, nil means the table does not exist.
    public var table: Table?
    public var observedTable = false
    /// With `observedPublication`, nil means the publication does not exist.
    public var publication: Publication?
    public var observedPublication = false
    /// With `observedSlot`, nil means the slot does not exist.
    public var slot: Slot?
    public var observedSlot = false
    /// `outbox_relay_slots` names the slot (it was created or adopted by a relay before).
    public var slotRecorded = false
    /// `max_slot_wal_keep_size` in MB; -1 is unlimited.
    public var maxSlotWALKeepSizeMB: Int?
    /// nil: the broker answered a topic lookup; otherwise the error.
    public var brokerError: String?
    public var observedBroker = false

    public init() {}
}
