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
        /// The acknowledged position the relay recorded for this slot (newer than `startLSN`
        /// after a Postgres crash: the slot's own position is written only at checkpoints).
        public var recordedLSN: LSN?

        /// Where streaming starts: the newer of the slot's position and the recorded one.
        public var streamStart: LSN? {
            guard let recordedLSN else { return startLSN }
            guard let startLSN else { return recordedLSN }
            return max(startLSN, recordedLSN)
        }
    }

    public let configuration: ReplicationConfiguration
    /// The table the publication is created for, when it is missing.
    public let table: OutboxTable
    /// `cdc-relay recover`: the recorded slot is gone or unusable and is being replaced, so its
    /// row does not stop the creation and is overwritten with the new slot's identity.
    public let replacingRecord: Bool
    private let logger: Logger

    public init(configuration: ReplicationConfiguration, table: OutboxTable = OutboxTable(), replacingRecord: Bool = false, logger: Logger) {
        self.configuration = configuration
        self.table = table
        self.replacingRecord = replacingRecord
        self.logger = logger
    }

    /// What a start would decide, or the refusal, without creating or recording anything.
    public func diagnose() async throws -> Result<SlotDecision, ReplicationError> {
        let session = ReplicationSession(configuration: configuration, logger: logger, bufferCapacity: 2)
        do {
            let system = try await session.identifySystem()
            let slot = try await observeSlot(session)
            let record = try await session.execute("SELECT 1 WHERE to_regclass('outbox_relay_slots') IS NOT NULL").rows.isEmpty
                ? nil : try await slotRecord(session)
            await session.close()
            do {
                return .success(try SlotDecision.decide(
                    slotName: configuration.slotName, slot: slot, record: record,
                    systemIdentifier: system.systemID, database: configuration.database))
            } catch {
                return .failure(error)
            }
        } catch {
            await session.close()
            throw error
        }
    }

    /// Drops the slot (it must not be active) on a replication connection.
    public func dropSlot() async throws {
        let session = ReplicationSession(configuration: configuration, logger: logger, bufferCapacity: 2)
        do {
            _ = try await session.execute("DROP_REPLICATION_SLOT \(ReplicationConfiguration.quoteIdentifier(configuration.slotName))")
            await session.close()
        } catch {
            await session.close()
            throw error
        }
    }

    public func run() async throws -> Outcome {
        try await run(exportingSnapshot: nil)
    }

    /// Reads rows in a new slot's snapshot: the rows committed before its consistent point.
    public typealias SnapshotReader = @Sendable (_ snapshotName: String, _ consistentPoint: LSN) async throws -> Void

    /// As `run()`, but when it creates the slot it exports the slot's snapshot and runs `reader`
    /// in it while the replication connection still holds it (the next command there ends it),
    /// before recording the slot: what the reader sees and what the slot streams meet without a
    /// gap or an overlap. If `reader` throws, the new slot is dropped again.
    public func run(exportingSnapshot reader: SnapshotReader?) async throws -> Outcome {
        let session = ReplicationSession(configuration: configuration, logger: logger, bufferCapacity: 2)
        do {
            let outcome = try await run(on: session, reader: reader)
            await session.close()
            return outcome
        } catch {
            await session.close()
            throw error
        }
    }

    private func run(on session: ReplicationSession, reader: SnapshotReader?) async throws -> Outcome {
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
            let record = replacingRecord ? nil : try await slotRecord(session)
            let decision = try SlotDecision.decide(
                slotName: configuration.slotName, slot: slot, record: record,
                systemIdentifier: system.systemID, database: configuration.database
            )
            switch decision {
            case .use:
                logger.info("using replication slot", metadata: ["slot": "\(configuration.slotName)", "confirmed_flush_lsn": "\(slot?.confirmedFlushLSN.map { "\($0)" } ?? "-")"])
                return Outcome(
                    decision: .use, createdPublication: createdPublication, system: system, startLSN: slot?.confirmedFlushLSN,
                    recordedLSN: try await recordedProgress(session))
            case .adopt:
                let start = slot?.confirmedFlushLSN ?? system.xlogPosition
                try await insertRecord(session, system: system, createdLSN: start)
                logger.notice("adopted existing replication slot", metadata: ["slot": "\(configuration.slotName)", "at": "\(start)"])
                return Outcome(decision: .adopt, createdPublication: createdPublication, system: system, startLSN: start, recordedLSN: nil)
            case .create:
                let created: QueryResult
                do {
                    let snapshot = reader == nil ? "nothing" : "export"
                    created = try await session.execute(
                        "CREATE_REPLICATION_SLOT \(ReplicationConfiguration.quoteIdentifier(configuration.slotName)) LOGICAL pgoutput (SNAPSHOT '\(snapshot)')"
                    )
                } catch let error as ReplicationError where error.sqlState == "42710" && attempt == 1 {
                    continue
                }
                guard let text = created.value(row: 0, column: "consistent_point"), let point = LSN(text) else {
                    throw ReplicationError(code: .protocolViolation, message: "CREATE_REPLICATION_SLOT returned no consistent_point")
                }
                if let reader {
                    do {
                        guard let name = created.value(row: 0, column: "snapshot_name") else {
                            throw ReplicationError(code: .protocolViolation, message: "CREATE_REPLICATION_SLOT exported no snapshot")
                        }
                        try await reader(name, point)
                    } catch {
                        _ = try? await session.execute("DROP_REPLICATION_SLOT \(ReplicationConfiguration.quoteIdentifier(configuration.slotName))")
                        throw error
                    }
                }
                try await insertRecord(session, system: system, createdLSN: point)
                logger.notice("created replication slot", metadata: ["slot": "\(configuration.slotName)", "consistent_point": "\(point)"])
                return Outcome(decision: .create, createdPublication: createdPublication, system: system, startLSN: point, recordedLSN: nil)
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
            created_lsn       pg_lsn      NOT NULL,
            acked_lsn         pg_lsn,
            acked_commit_time timestamptz,
            acked_event_id    bigint,
            progress_at       timestamptz
        )
        """

    private func ensurePublication(_ session: ReplicationSession) async throws -> Bool {
        let name = ReplicationConfiguration.quoteLiteral(configuration.publicationName)
        let existing = try await session.execute("SELECT 1 FROM pg_publication WHERE pubname = \(name)")
        guard existing.rows.isEmpty else { return false }
        let create = "CREATE PUBLICATION \(ReplicationConfiguration.quoteIdentifier(configuration.publicationName)) "
            + "FOR TABLE \(table.quotedName) WITH (publish = 'insert', publish_via_partition_root = true)"
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

    /// The recorded acknowledged LSN; nil when none was recorded or the table predates the
    /// progress columns (sql/0025 not applied: the slot's own position is used, as before).
    private func recordedProgress(_ session: ReplicationSession) async throws -> LSN? {
        do {
            let result = try await session.execute("""
                SELECT acked_lsn::text AS acked_lsn FROM outbox_relay_slots
                WHERE slot_name = \(ReplicationConfiguration.quoteLiteral(configuration.slotName))
                """)
            return result.value(row: 0, column: "acked_lsn").flatMap { LSN($0) }
        } catch let error as ReplicationError where error.sqlState == "42703" {
            logger.warning("outbox_relay_slots lacks the progress columns (apply sql/0025_relay_progress.sql); starting from the slot's position")
            return nil
        }
    }

    private func insertRecord(_ session: ReplicationSession, system: SystemIdentity, createdLSN: LSN) async throws {
        let quote = ReplicationConfiguration.quoteLiteral
        _ = try await session.execute("""
            INSERT INTO outbox_relay_slots (slot_name, system_identifier, database, created_lsn)
            VALUES (\(quote(configuration.slotName)), \(quote(system.systemID)), \(quote(configuration.database)), \(quote("\(createdLSN)")))
            \(replacingRecord
                // The old slot's LSN means nothing for the new one; its commit time stays (the
                // retention keeps rows newer than it) until the new slot's first acknowledgement.
                ? "ON CONFLICT (slot_name) DO UPDATE SET system_identifier = excluded.system_identifier, database = excluded.database, created_at = now(), created_lsn = excluded.created_lsn, acked_lsn = NULL"
                : "ON CONFLICT (slot_name) DO NOTHING")
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
