import Logging
import OutboxCore
import PulsarClient

/// Gathers `PreflightFacts` as the relay would see them: over the relay's own replication
/// connection (its role, its grants) and its Pulsar client settings. Changes nothing.
public struct PreflightCollector: Sendable {
    public let configuration: OutboxConfiguration
    public let table: OutboxTable
    private let logger: Logger

    public init(configuration: OutboxConfiguration, table: OutboxTable? = nil, logger: Logger) {
        self.configuration = configuration
        self.table = table ?? OutboxTable(configured: configuration.relay.table)
        self.logger = logger
    }

    public func collect(brokerTimeout: Duration = .seconds(15)) async -> PreflightFacts {
        var facts = PreflightFacts()
        let replication = RelayApplication.replicationConfiguration(configuration)
        let session = ReplicationSession(configuration: replication, logger: logger, bufferCapacity: 2)
        var connected = false
        do {
            _ = try await session.identifySystem()
            connected = true
            try await collectDatabase(session, into: &facts)
        } catch {
            // Either way nothing after this point was observed; the decision reports it.
            facts.connectionError = connected ? "a catalog query failed: \(error)" : "\(error)"
        }
        await session.close()
        await collectBroker(into: &facts, timeout: brokerTimeout)
        return facts
    }

    private func collectDatabase(_ session: ReplicationSession, into facts: inout PreflightFacts) async throws {
        let q = ReplicationConfiguration.quoteLiteral
        let regclass = q(table.quotedName)
        let settings = try await session.execute("""
            SELECT current_setting('wal_level') AS wal_level,
                   (SELECT setting FROM pg_settings WHERE name = 'max_slot_wal_keep_size') AS keep_size
            """)
        facts.walLevel = settings.value(row: 0, column: "wal_level")
        facts.maxSlotWALKeepSizeMB = settings.value(row: 0, column: "keep_size").flatMap { Int($0) }

        let role = try await session.execute("SELECT rolname, rolreplication, rolsuper FROM pg_roles WHERE rolname = current_user")
        if let name = role.value(row: 0, column: "rolname") {
            facts.role = .init(name: name, replication: role.value(row: 0, column: "rolreplication") == "t",
                               superuser: role.value(row: 0, column: "rolsuper") == "t")
        }

        // Grants of README's least-privilege list; the slot table may be missing (then the relay
        // creates it, which needs CREATE on its schema).
        let grants = try await session.execute("""
            SELECT has_database_privilege(current_database(), 'CONNECT') AS connect,
                   has_schema_privilege(\(q(table.namespace)), 'USAGE') AS usage,
                   to_regclass(\(regclass)) IS NOT NULL AS outbox_exists,
                   to_regclass(\(regclass)) IS NOT NULL AND has_table_privilege(to_regclass(\(regclass)), 'SELECT') AS select_outbox,
                   to_regclass('outbox_relay_slots') IS NOT NULL AS slots_table,
                   to_regclass('outbox_relay_slots') IS NOT NULL AND has_table_privilege('outbox_relay_slots', 'SELECT') AS select_slots,
                   to_regclass('outbox_relay_slots') IS NOT NULL AND has_table_privilege('outbox_relay_slots', 'INSERT') AS insert_slots,
                   to_regclass('outbox_relay_slots') IS NOT NULL AND has_table_privilege('outbox_relay_slots', 'UPDATE') AS update_slots,
                   has_schema_privilege('public', 'CREATE') AS create_public
            """)
        func granted(_ column: String) -> Bool { grants.value(row: 0, column: column) == "t" }
        facts.grants = [
            .init(privilege: "CONNECT on database \(configuration.database.database)", granted: granted("connect")),
            .init(privilege: "USAGE on schema \(table.namespace)", granted: granted("usage")),
        ]
        // A missing table is its own finding; its SELECT grant cannot be asked then.
        if grants.value(row: 0, column: "outbox_exists") == "t" {
            facts.grants.append(.init(privilege: "SELECT on \(table)", granted: granted("select_outbox")))
        }
        if granted("slots_table") {
            facts.grants.append(.init(privilege: "SELECT on outbox_relay_slots", granted: granted("select_slots")))
            facts.grants.append(.init(privilege: "INSERT on outbox_relay_slots", granted: granted("insert_slots")))
            facts.grants.append(.init(privilege: "UPDATE on outbox_relay_slots", granted: granted("update_slots"), optional: true))
        } else {
            facts.grants.append(.init(privilege: "CREATE on schema public (outbox_relay_slots is missing)", granted: granted("create_public")))
        }

        let relation = try await session.execute("""
            SELECT c.relkind::text AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = \(q(table.namespace)) AND c.relname = \(q(table.name))
            """)
        facts.observedTable = true
        if let kind = relation.value(row: 0, column: "kind") {
            let columns = try await session.execute("""
                SELECT attname::text AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
                WHERE attrelid = to_regclass(\(regclass)) AND attnum > 0 AND NOT attisdropped
                """)
            var types: [String: String] = [:]
            for row in columns.rows.indices {
                if let name = columns.value(row: row, column: "name"), let type = columns.value(row: row, column: "type") {
                    types[name] = type
                }
            }
            facts.table = .init(columns: types, partitioned: kind == "p")
        }

        let publication = try await session.execute("""
            SELECT p.pubinsert, p.pubviaroot,
                   p.puballtables
                   OR EXISTS (SELECT 1 FROM pg_publication_rel r WHERE r.prpubid = p.oid AND r.prrelid = to_regclass(\(regclass)))
                   OR EXISTS (SELECT 1 FROM pg_publication_namespace pn JOIN pg_namespace n ON n.oid = pn.pnnspid
                              WHERE pn.pnpubid = p.oid AND n.nspname = \(q(table.namespace))) AS covers
            FROM pg_publication p WHERE p.pubname = \(q(configuration.relay.publicationName))
            """)
        facts.observedPublication = true
        if !publication.rows.isEmpty {
            facts.publication = .init(
                coversTable: publication.value(row: 0, column: "covers") == "t",
                publishesInsert: publication.value(row: 0, column: "pubinsert") == "t",
                viaPartitionRoot: publication.value(row: 0, column: "pubviaroot") == "t")
        }

        let slot = try await session.execute("""
            SELECT plugin::text AS plugin, wal_status, active,
                   pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS retained
            FROM pg_replication_slots WHERE slot_name = \(q(configuration.relay.slotName))
            """)
        facts.observedSlot = true
        if !slot.rows.isEmpty {
            facts.slot = .init(
                plugin: slot.value(row: 0, column: "plugin"), walStatus: slot.value(row: 0, column: "wal_status"),
                active: slot.value(row: 0, column: "active") == "t",
                retainedBytes: slot.value(row: 0, column: "retained").flatMap { UInt64($0) })
        }
        if granted("select_slots") {
            let recorded = try await session.execute(
                "SELECT 1 FROM outbox_relay_slots WHERE slot_name = \(q(configuration.relay.slotName))")
            facts.slotRecorded = !recorded.rows.isEmpty
        }
    }

    private func collectBroker(into facts: inout PreflightFacts, timeout: Duration) async {
        facts.observedBroker = true
        let pulsar: PulsarClientConfiguration
        do {
            pulsar = try RelayApplication.pulsarConfiguration(configuration)
        } catch {
            facts.brokerError = "\(error)"
            return
        }
        // A template's topics do not exist yet: the dead-letter topic is one the relay uses too.
        let topic = configuration.pulsar.topicName.contains(TopicRouter.placeholder)
            ? configuration.relay.deadLetterTopic : configuration.pulsar.topicName
        let client = PulsarClient(configuration: pulsar, logger: logger)
        let outcome: String? = await withTaskGroup(of: String?.self) { group in
            group.addTask {
                do {
                    try await client.lookUp(topic: topic)
                    return nil
                } catch {
                    return "\(error)"
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                await client.shutdown()  // ends a lookup still waiting for a connection
                return "no answer within \(timeout)"
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        await client.shutdown()
        facts.brokerError = outcome
    }
}
