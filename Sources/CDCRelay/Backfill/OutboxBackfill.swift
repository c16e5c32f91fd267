import Logging
import OutboxCore
import PulsarClient

/// `cdc-relay backfill`: publishes outbox rows the stream will never deliver.
///
/// - No slot yet (adopting the relay on a database that already has an outbox): the slot is
///   created with an exported snapshot and the selection (every row, unless narrowed) is read in
///   that snapshot — exactly the rows committed before the slot's consistent point, where the
///   stream starts. No gap, no overlap.
/// - The slot exists: rows before it cannot be told from streamed ones, so a selection
///   (`--since` / `--from-id`) is required; it is published again as it is now (rows the stream
///   also delivers arrive twice, with the same event ids).
///
/// The chosen ids are committed first (the manifest); a rerun of the same name continues after
/// the last acknowledged page with the same ids.
public struct OutboxBackfill: Sendable {
    public struct Request: Sendable, Hashable {
        public var name: String?
        public var selection: BackfillSelection
        /// Rows per second; 0 is unthrottled.
        public var rate: Int
        public var pageSize: Int

        public init(name: String? = nil, selection: BackfillSelection = BackfillSelection(), rate: Int = 5000, pageSize: Int = 1000) {
            self.name = name
            self.selection = selection
            self.rate = rate
            self.pageSize = pageSize
        }
    }

    public struct Outcome: Sendable, Hashable {
        public var run: BackfillRun
        /// Nil when the run had already finished (nothing published).
        public var summary: TableBackfill.Summary?
        public var createdSlot: Bool
    }

    let configuration: OutboxConfiguration
    let logger: Logger
    let progress: @Sendable (String) -> Void

    public init(configuration: OutboxConfiguration, logger: Logger, progress: @escaping @Sendable (String) -> Void) {
        self.configuration = configuration
        self.logger = logger
        self.progress = progress
    }

    var table: OutboxTable { OutboxTable(configured: configuration.relay.table) }

    func makeStore() -> BackfillStore {
        BackfillStore(
            connection: QueueConnection(label: "outbox-relay.backfill"),
            // The relay's own role: it owns the slot's row and reads the outbox.
            conninfo: RelayApplication.conninfo(
                configuration.database, user: configuration.relay.effectiveReplicationUsername(database: configuration.database),
                applicationName: "cdc-relay-backfill", options: "-c datestyle=ISO -c timezone=UTC"),
            table: table, mapping: configuration.relay.columns)
    }

    /// The default name: the same arguments give the same name, so a rerun continues the run.
    public static func defaultName(slotName: String, selection: BackfillSelection) -> String {
        let suffix = selection.isEverything ? "initial" : selection.description
        let cleaned = String(suffix.map { $0.isLetter || $0.isNumber ? $0 : "-" })
        return "\(slotName)-\(cleaned)"
    }

    public func run(_ request: Request) async throws -> Outcome {
        let slotName = configuration.relay.slotName
        let name = request.name ?? Self.defaultName(slotName: slotName, selection: request.selection)
        let store = makeStore()
        try await store.ensureTables()
        if let existing = try await store.run(named: name) {
            guard existing.slotName == slotName else {
                throw BackfillError(code: .unfinishedElsewhere, message: "backfill \(name) belongs to slot \(existing.slotName); choose another --name")
            }
            if existing.finished {
                progress("backfill \(name) already finished (\(existing.done)/\(existing.total) rows); nothing to do")
                return Outcome(run: existing, summary: nil, createdSlot: false)
            }
            progress("backfill \(name): continuing after id \(existing.lastID.map { "\($0)" } ?? "-") (\(existing.done)/\(existing.total) rows done)")
            return Outcome(run: existing, summary: try await publish(existing, store: store, rate: request.rate, pageSize: request.pageSize), createdSlot: false)
        }
        let selection = request.selection
        let bootstrap = SlotBootstrap(configuration: RelayApplication.replicationConfiguration(configuration), table: table, logger: logger)
        let outcome = try await bootstrap.run(exportingSnapshot: { snapshot, _ in
            _ = try await store.createManifest(name: name, slotName: slotName, selection: selection, snapshot: snapshot)
        })
        let createdSlot = outcome.decision == .create
        if !createdSlot {
            guard !selection.isEverything else {
                throw BackfillError(
                    code: .selectionRequired,
                    message: "slot \(slotName) already exists, so the rows committed before it cannot be told apart from streamed ones; "
                        + "name the rows to publish again with --since TIME or --from-id ID")
            }
            _ = try await store.createManifest(name: name, slotName: slotName, selection: selection, snapshot: nil)
        }
        guard let run = try await store.run(named: name) else {
            throw BackfillError(code: .database, message: "backfill \(name) was not recorded")
        }
        progress("backfill \(name): \(run.total) rows (\(selection))\(createdSlot ? ", in the snapshot of the new slot \(slotName)" : "")")
        return Outcome(run: run, summary: try await publish(run, store: store, rate: request.rate, pageSize: request.pageSize), createdSlot: createdSlot)
    }

    func publish(_ run: BackfillRun, store: BackfillStore, rate: Int, pageSize: Int) async throws -> TableBackfill.Summary {
        let client = PulsarClient(configuration: try RelayApplication.pulsarConfiguration(configuration), logger: logger)
        let publishers = PulsarEventPublisherFactory(
            client: client, producerName: TableBackfill.producerName(backfill: run.name),
            maxPendingMessages: configuration.relay.maxInFlight, sendTimeout: .seconds(30), closeTimeout: .seconds(5))
        let backfill = TableBackfill(
            store: store, publishers: publishers, router: try TopicRouter(topicName: configuration.pulsar.topicName),
            rate: rate, pageSize: pageSize, logger: logger, progress: progress)
        do {
            let summary = try await backfill.run(run)
            await client.shutdown()
            return summary
        } catch {
            await client.shutdown()
            throw error
        }
    }
}
