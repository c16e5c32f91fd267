import OutboxCore

/// The relay's decision logic for one replication session. Pure value type: each input returns
/// an action for the service to run; nothing here does I/O.
///
/// Begin → rows are mapped and published while the transaction streams (ordinals known from
/// `final_lsn`), Commit → the tracker may confirm once every event is acked.
///
/// A row that cannot become an event (it does not map, its payload is too large, its Relation
/// lacks a required column) is never skipped: with `dead_letter` it becomes a dead-letter
/// publication in its place — same position, same sequence id, confirmed only once acked — and
/// with `halt` the pipeline throws at it, so nothing after it is published or confirmed.
public struct RelayPipeline: Sendable {
    /// One event ready for the publisher.
    public struct Publication: Sendable, Hashable {
        public var message: OutboxMessage
        public var transaction: LSNTracker.TransactionToken
        /// Commit time of the transaction (Unix microseconds), for the commit→ack latency.
        public var commitTime: Int64
        /// The event's place in the WAL: its identity across sessions of one process.
        public var position: EventPosition
        /// Set when this is the dead letter of a row that could not become an event.
        public var deadLetter: DeadLetterReason?
    }

    /// What to do with rows that cannot become events.
    public struct InvalidEventHandling: Sendable, Hashable {
        public var policy: InvalidEventPolicy
        public var deadLetterTopic: String
        public var maxEventBytes: Int
        public var slotName: String

        public init(
            policy: InvalidEventPolicy = .deadLetter,
            deadLetterTopic: String = "persistent://public/default/outbox-dead-letter",
            maxEventBytes: Int = 64 * 1024 * 1024,
            slotName: String = "outbox_relay"
        ) {
            self.policy = policy
            self.deadLetterTopic = deadLetterTopic
            self.maxEventBytes = maxEventBytes
            self.slotName = slotName
        }
    }

    public enum Action: Sendable, Hashable {
        case none
        case publish(Publication)
        /// Send a status update now (keepalive asked for a reply).
        case sendStatus(StandbyPositions)
        /// An insert into a relation other than the outbox (counted, never mapped).
        case ignoredInsert(relation: String)
    }

    private enum RelationEntry: Sendable, Hashable {
        case outbox(OutboxColumnLayout, columnNames: [String])
        /// The outbox under a schema the mapping cannot use (a required column renamed or dropped):
        /// every row written under it is invalid; the next Relation message may fix it.
        case unusableOutbox(OutboxMappingError, columnNames: [String])
        case other(String)
    }

    private struct OpenTransaction: Sendable, Hashable {
        var token: LSNTracker.TransactionToken
        var commitLSN: UInt64
        var commitTime: Int64
        var ordinal: Int64 = 0
    }

    public let table: OutboxTable
    /// Which columns of `table` hold the event's fields.
    public let columns: OutboxColumnMapping
    public let router: TopicRouter
    public let invalidEvents: InvalidEventHandling
    private let mapper = OutboxRowMapper()
    private var relations: [UInt32: RelationEntry] = [:]
    private var open: OpenTransaction?
    public private(set) var tracker: LSNTracker
    /// Highest sequence id handed out in this session (ids must keep increasing per producer).
    public private(set) var lastSequenceID: Int64 = -1
    /// How often an id had to be bumped past the scheme (transactions beyond 65,536 rows).
    public private(set) var sequenceFallbacks = 0

    public init(
        table: OutboxTable, columns: OutboxColumnMapping = OutboxColumnMapping(), router: TopicRouter, confirmedLSN: UInt64,
        invalidEvents: InvalidEventHandling = InvalidEventHandling()
    ) {
        self.table = table
        self.columns = columns
        self.router = router
        self.invalidEvents = invalidEvents
        self.tracker = LSNTracker(confirmedLSN: confirmedLSN)
    }

    /// The positions to report: everything up to the confirmed LSN is durable at the broker.
    public var standbyPositions: StandbyPositions {
        let confirmed = tracker.confirmedLSN
        return StandbyPositions(written: confirmed, flushed: confirmed, applied: confirmed)
    }

    public mutating func receive(_ input: ReplicationInput) throws(RelayPipelineError) -> Action {
        switch input {
        case .begin(let finalLSN, let commitTime, _):
            do {
                let token = try tracker.begin(commitLSN: finalLSN, commitTime: commitTime)
                open = OpenTransaction(token: token, commitLSN: finalLSN, commitTime: commitTime)
            } catch {
                throw RelayPipelineError(tracker: error)
            }
            return .none

        case .relation(let id, let namespace, let name, let columnNames):
            if table.matches(namespace: namespace, name: name) {
                do {
                    relations[id] = .outbox(try OutboxColumnLayout(columnNames: columnNames, mapping: columns), columnNames: columnNames)
                } catch {
                    relations[id] = .unusableOutbox(error, columnNames: columnNames)
                }
            } else {
                relations[id] = .other(namespace.isEmpty ? name : "\(namespace).\(name)")
            }
            return .none

        case .insert(let relationID, let values):
            guard let entry = relations[relationID] else {
                throw RelayPipelineError(code: .unknownRelation, lsn: open?.commitLSN)
            }
            guard open != nil else {
                throw RelayPipelineError(code: .changeOutsideTransaction)
            }
            switch entry {
            case .other(let name):
                return .ignoredInsert(relation: name)
            case .unusableOutbox(let error, let columnNames):
                return try invalid(values, columnNames: columnNames, error: error)
            case .outbox(let layout, let columnNames):
                if let position = layout.payloadPosition, case .text(let payload) = values[safe: position],
                    payload.count > invalidEvents.maxEventBytes
                {
                    let column = columnNames[position]
                    let error = OutboxMappingError(
                        code: .payloadTooLarge, column: column,
                        detail: "\(payload.count) bytes, limit relay.max_event_bytes = \(invalidEvents.maxEventBytes)")
                    return try invalid(values, columnNames: columnNames, error: error, omitting: column)
                }
                let event: OutboxEvent
                let topic: String
                do {
                    let commitTime = open.map { OutboxTimestamp(microsecondsSinceEpoch: $0.commitTime) }
                    event = try mapper.event(from: values, layout: layout, commitTime: commitTime)
                    topic = try router.topic(for: event)
                } catch {
                    return try invalid(values, columnNames: columnNames, error: error)
                }
                return .publish(try nextPublication { sequenceID in
                    OutboxMessage(event: event, topic: topic, sequenceID: sequenceID)
                })
            }

        case .commit(let commitLSN, let endLSN):
            do {
                try tracker.commit(commitLSN: commitLSN, endLSN: endLSN)
            } catch {
                throw RelayPipelineError(tracker: error)
            }
            open = nil
            return .none

        case .otherChange:
            return .none

        case .keepalive(let walEnd, let replyRequested):
            tracker.keepalive(walEnd: walEnd)
            return replyRequested ? .sendStatus(standbyPositions) : .none
        }
    }

    /// The next event of the open transaction: its sequence id from the WAL position, counted by
    /// the tracker.
    private mutating func nextPublication(
        deadLetter: DeadLetterReason? = nil,
        _ makeMessage: (Int64) -> OutboxMessage
    ) throws(RelayPipelineError) -> Publication {
        guard var transaction = open else { throw RelayPipelineError(code: .changeOutsideTransaction) }
        var sequenceID: Int64
        do {
            sequenceID = try SequenceIDScheme.sequenceID(commitLSN: transaction.commitLSN, ordinal: transaction.ordinal)
        } catch {
            throw RelayPipelineError(code: .sequenceOutOfRange, lsn: error.commitLSN)
        }
        if sequenceID <= lastSequenceID {
            sequenceID = lastSequenceID + 1
            sequenceFallbacks += 1
        }
        lastSequenceID = sequenceID
        let position = EventPosition(commitLSN: transaction.commitLSN, ordinal: transaction.ordinal)
        transaction.ordinal += 1
        open = transaction
        do {
            try tracker.eventSent(in: transaction.token)
        } catch {
            throw RelayPipelineError(tracker: error)
        }
        return Publication(
            message: makeMessage(sequenceID), transaction: transaction.token, commitTime: transaction.commitTime,
            position: position, deadLetter: deadLetter)
    }

    /// A row that cannot become an event: its dead letter, or (policy `halt`) an error naming it.
    private mutating func invalid(
        _ values: [ColumnValue], columnNames: [String], error: OutboxMappingError, omitting omitted: String? = nil
    ) throws(RelayPipelineError) -> Action {
        guard let transaction = open else { throw RelayPipelineError(code: .changeOutsideTransaction) }
        let columns = zip(columnNames, values).map { (name: $0, value: $1) }
        switch invalidEvents.policy {
        case .halt:
            var failure = RelayPipelineError(mapping: error)
            failure.lsn = transaction.commitLSN
            if let index = columnNames.firstIndex(of: self.columns.id.columnName ?? "id"), case .text(let bytes) = values[safe: index] {
                failure.eventID = Int64(String(decoding: bytes, as: UTF8.self))
            }
            throw failure
        case .deadLetter:
            let reason = DeadLetterReason(error)
            let origin = DeadLetterOrigin(topic: invalidEvents.deadLetterTopic, slotName: invalidEvents.slotName, table: table)
            return .publish(try nextPublication(deadLetter: reason) { sequenceID in
                DeadLetterMessage.make(
                    columns: columns, omitting: omitted, reason: reason, commitLSN: transaction.commitLSN,
                    commitTime: transaction.commitTime, sequenceID: sequenceID, origin: origin)
            })
        }
    }

    /// The broker acked an event (or it was already there: a dedup skip). True when confirmed moved.
    @discardableResult
    public mutating func acked(_ publication: Publication) throws(RelayPipelineError) -> Bool {
        do {
            return try tracker.eventAcked(in: publication.transaction)
        } catch {
            throw RelayPipelineError(tracker: error)
        }
    }

    /// The publish failed for good: nothing past this point will be confirmed in this session.
    public mutating func failed(_ publication: Publication) {
        tracker.eventFailed(in: publication.transaction)
    }
}

public struct RelayPipelineError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable { case mapping, stream, changeOutsideTransaction, sequenceOutOfRange, unknownRelation }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// An outbox row or relation could not be mapped (see `mapping`).
        public static let mapping = Code(.mapping)
        /// Begin/Commit pairing broken (see `tracker`).
        public static let stream = Code(.stream)
        public static let changeOutsideTransaction = Code(.changeOutsideTransaction)
        public static let sequenceOutOfRange = Code(.sequenceOutOfRange)
        /// An Insert names a relation id no Relation message described (a broken stream).
        public static let unknownRelation = Code(.unknownRelation)
        public var description: String {
            switch base {
            case .mapping: "mapping"
            case .stream: "stream"
            case .changeOutsideTransaction: "changeOutsideTransaction"
            case .sequenceOutOfRange: "sequenceOutOfRange"
            case .unknownRelation: "unknownRelation"
            }
        }
    }

    public var code: Code
    public var mapping: OutboxMappingError?
    public var tracker: LSNTrackerError?
    public var lsn: UInt64?
    /// The outbox row's id, when it could be read (an invalid event under `halt`).
    public var eventID: Int64?

    public init(code: Code, lsn: UInt64? = nil) {
        self.code = code
        self.lsn = lsn
    }

    init(mapping: OutboxMappingError) {
        self.code = .mapping
        self.mapping = mapping
    }

    init(tracker: LSNTrackerError) {
        self.code = .stream
        self.tracker = tracker
    }

    public var description: String {
        if let mapping {
            var text = "RelayPipelineError(\(code): \(mapping)"
            if let eventID { text += ", event_id: \(eventID)" }
            if let lsn { text += ", lsn: \(LSNFormat.string(lsn))" }
            return text + ")"
        }
        if let tracker { return "RelayPipelineError(\(code): \(tracker))" }
        return "RelayPipelineError(\(code)\(lsn.map { ", lsn: \(LSNFormat.string($0))" } ?? ""))"
    }
}

/// Where an event sits in the WAL: its transaction's commit LSN and its ordinal within it.
public struct EventPosition: Sendable, Hashable, Comparable {
    public var commitLSN: UInt64
    public var ordinal: Int64

    public init(commitLSN: UInt64, ordinal: Int64) {
        self.commitLSN = commitLSN
        self.ordinal = ordinal
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.commitLSN, lhs.ordinal) < (rhs.commitLSN, rhs.ordinal)
    }
}

extension Array {
    /// The element at `index`, or nil outside the array (tuples may be shorter than a layout).
    subscript(safe index: Int) -> Element? {
        indices.contains(index) ? self[index] : nil
    }
}
