import Logging

/// Prepares the database side before streaming: the identity table, the publication and the
/// logical slot. Refuses to continue when the slot is lost, vanished after use, or replaced,
/// because silently recreating it would skip events.
///
/// Uses its own `replication=database` connection (plain SQL is allowed there) and closes it.
public struct SlotBootstrap: Sendable {
    public struct Outcome: Sendable, Hashable {
        public var decision: SlotDecision
        public var createdPublication: Bool
        public var system: SystemIdentity
        /// Where a new slot starts (`consistent_point`), or the existing slot's confirmed_flush_lsn.
        public var startLSN: LSN?
    }

    public let configuration: ReplicationConfiguration
    /// The table the publication is created for, when it is missing.
    public let table: OutboxTable
    private let logger: Logger

    public init(configuration: ReplicationConfiguration, table: OutboxTable = OutboxTable(), logger: Logger) {
        self.configuration = configuration
        self.table = table
        self.logger = logger
    }

    public func run() async throws -> Outcome {
        let session = ReplicationSession(configuration: configuration, logger: logger, bufferCapacity: 2)
        do {
            let outcome = try await run(on: session)
            await session.close()
            return outcome
        } catch {
            await session.close()
            throw error
        }
    }

    private func run(on session: ReplicationSession) async throws -> Outcome {
        let system = try await session.identifySystem()
        // Created only when missing: a relay role without CREATE on the schema (least privilege,
        // the table made by the migration) must not even try.
        if try await session.execute("SELECT 1 WHERE to_regclass('outbox_relay_slots') IS NULL").rows.isEmpty == false {
            try await ignoring(["42P07", "23505"], session, Self.createRecordTable)
        }
        let createdPublication = try await ensurePublication(session)

        // A concurrent relay may create the slot between our look and our create: look again once.
        for attempt in 1...2 {
            let slot = try await observeSlot(session)
            let record = try await slotRecord(session)
            let decision = try SlotDecision.decide(
                slotName: configuration.slotName, slot: slot, record: record,
                systemIdentifier: system.systemID, database: configuration.database
            )
            switch decision {
            case .use:
                logger.info("using replication slot", metadata: ["slot": "\(configuration.slotName)", "confirmed_flush_lsn": "\(slot?.confirmedFlushLSN.map { "\($0)" } ?? "-")"])
                return Outcome(decision: .use, createdPublication: createdPublication, system: system, startLSN: slot?.confirmedFlushLSN)
            case .adopt:
                let start = slot?.confirmedFlushLSN ?? system.xlogPosition
                try await insertRecord(session, system: system, createdLSN: start)
                logger.notice("adopted existing replication slot", metadata: ["slot": "\(configuration.slotName)", "at": "\(start)"])
                return Outcome(decision: .adopt, createdPublication: createdPublication, system: system, startLSN: start)
            case .create:
                let created: QueryResult
                do {
                    created = try await session.execute(
                        "CREATE_REPLICATION_SLOT \(ReplicationConfiguration.quoteIdentifier(configuration.slotName)) LOGICAL pgoutput (SNAPSHOT 'nothing')"
                    )
                } catch let error as ReplicationError where error.sqlState == "42710" && attempt == 1 {
                    continue
                }
                guard let text = created.value(row: 0, column: "consistent_point"), let point = LSN(text) else {
                    throw ReplicationError(code: .protocolViolation, message: "CREATE_REPLICATION_SLOT returned no consistent_point")
                }
                try await insertRecord(session, system: system, createdLSN: point)
                logger.notice("created replication slot", metadata: ["slot": "\(configuration.slotName)", "consistent_point": "\(point)"])
                return Outcome(decision: .create, createdPublication: createdPublication, system: system, startLSN: point)
            }
        }
        throw ReplicationError(code: .queryFailed, message: "slot \(configuration.slotName) kept changing during bootstrap")
    }

    static let createRecordTable = """
        CREATE TABLE IF NOT EXISTS outbox_relay_slots (
            slot_name         text        PRIMARY KEY,
            system_identifier text        NOT NULL,
            database          text        NOT NULL,
            created_at        timestamptz NOT NULL DEFAULT now(),
            created_lsn       pg_lsn      NOT NULL
        )
        """

    private func ensurePublication(_ session: ReplicationSession) async throws -> Bool {
        let name = ReplicationConfiguration.quoteLiteral(configuration.publicationName)
        let existing = try await session.execute("SELECT 1 FROM pg_publication WHERE pubname = \(name)")
        guard existing.rows.isEmpty else { return false }
        let create = "CREATE PUBLICATION \(ReplicationConfiguration.quoteIdentifier(configuration.publicationName)) "
            + "FOR TABLE \(table.quotedName) WITH (publish = 'insert')"
        do {
            _ = try await session.execute(create)
        } catch let error as ReplicationError where error.sqlState == "42710" {
            return false  // created concurrently by another relay
        }
        logger.notice("created publication", metadata: ["publication": "\(configuration.publicationName)", "table": "\(table)"])
        return true
    }

    private func observeSlot(_ session: ReplicationSession) async throws -> ObservedSlot? {
        let result = try await session.execute("""
            SELECT slot_type, plugin, database, wal_status, confirmed_flush_lsn::text AS confirmed, active_pid
            FROM pg_replication_slots WHERE slot_name = \(ReplicationConfiguration.quoteLiteral(configuration.slotName))
            """)
        guard !result.rows.isEmpty else { return nil }
        return ObservedSlot(
            slotType: result.value(row: 0, column: "slot_type") ?? "",
            plugin: result.value(row: 0, column: "plugin"),
            database: result.value(row: 0, column: "database"),
            walStatus: result.value(row: 0, column: "wal_status"),
            confirmedFlushLSN: result.value(row: 0, column: "confirmed").flatMap { LSN($0) },
            activePID: result.value(row: 0, column: "active_pid").flatMap { Int($0) }
        )
    }

    private func slotRecord(_ session: ReplicationSession) async throws -> SlotRecord? {
        let result = try await session.execute("""
            SELECT system_identifier, database, created_lsn::text AS created_lsn
            FROM outbox_relay_slots WHERE slot_name = \(ReplicationConfiguration.quoteLiteral(configuration.slotName))
            """)
        guard !result.rows.isEmpty else { return nil }
        guard let system = result.value(row: 0, column: "system_identifier"),
              let database = result.value(row: 0, column: "database"),
              let createdText = result.value(row: 0, column: "created_lsn"), let created = LSN(createdText)
        else {
            throw ReplicationError(code: .protocolViolation, message: "unreadable row in outbox_relay_slots for \(configuration.slotName)")
        }
        return SlotRecord(systemIdentifier: system, database: database, createdLSN: created)
    }

    private func insertRecord(_ session: ReplicationSession, system: SystemIdentity, createdLSN: LSN) async throws {
        let quote = ReplicationConfiguration.quoteLiteral
        _ = try await session.execute("""
            INSERT INTO outbox_relay_slots (slot_name, system_identifier, database, created_lsn)
            VALUES (\(quote(configuration.slotName)), \(quote(system.systemID)), \(quote(configuration.database)), \(quote("\(createdLSN)")))
            ON CONFLICT (slot_name) DO NOTHING
            """)
    }

    private func ignoring(_ sqlStates: Set<String>, _ session: ReplicationSession, _ sql: String) async throws {
        do {
            _ = try await session.execute(sql)
        } catch let error as ReplicationError where error.sqlState.map(sqlStates.contains) == true {
            // Raced with another relay doing the same.
        }
    }
}
