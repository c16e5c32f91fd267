/// The relay's decision logic for one replication session. Pure value type: each input returns
/// an action for the service to run; nothing here does I/O.
///
/// Begin → rows are mapped and published while the transaction streams (ordinals known from
/// `final_lsn`), Commit → the tracker may confirm once every event is acked.
public struct RelayPipeline: Sendable {
    /// One event ready for the publisher.
    public struct Publication: Sendable, Hashable {
        public var message: OutboxMessage
        public var transaction: LSNTracker.TransactionToken
        /// Commit time of the transaction (Unix microseconds), for the commit→ack latency.
        public var commitTime: Int64
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
        case outbox(OutboxColumnLayout)
        case other(String)
    }

    private struct OpenTransaction: Sendable, Hashable {
        var token: LSNTracker.TransactionToken
        var commitLSN: UInt64
        var commitTime: Int64
        var ordinal: Int64 = 0
    }

    public let table: OutboxTable
    public let router: TopicRouter
    private let mapper = OutboxRowMapper()
    private var relations: [UInt32: RelationEntry] = [:]
    private var open: OpenTransaction?
    public private(set) var tracker: LSNTracker
    /// Highest sequence id handed out in this session (ids must keep increasing per producer).
    public private(set) var lastSequenceID: Int64 = -1
    /// How often an id had to be bumped past the scheme (transactions beyond 65,536 rows).
    public private(set) var sequenceFallbacks = 0

    public init(table: OutboxTable, router: TopicRouter, confirmedLSN: UInt64) {
        self.table = table
        self.router = router
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
                let token = try tracker.begin(commitLSN: finalLSN)
                open = OpenTransaction(token: token, commitLSN: finalLSN, commitTime: commitTime)
            } catch {
                throw RelayPipelineError(tracker: error)
            }
            return .none

        case .relation(let id, let namespace, let name, let columnNames):
            if table.matches(namespace: namespace, name: name) {
                do {
                    relations[id] = .outbox(try OutboxColumnLayout(columnNames: columnNames))
                } catch {
                    throw RelayPipelineError(mapping: error)
                }
            } else {
                relations[id] = .other(namespace.isEmpty ? name : "\(namespace).\(name)")
            }
            return .none

        case .insert(let relationID, let values):
            guard let entry = relations[relationID] else {
                throw RelayPipelineError(mapping: OutboxMappingError(code: .unknownRelation, detail: "relation id \(relationID)"))
            }
            guard var transaction = open else {
                throw RelayPipelineError(code: .changeOutsideTransaction)
            }
            switch entry {
            case .other(let name):
                return .ignoredInsert(relation: name)
            case .outbox(let layout):
                let event: OutboxEvent
                let topic: String
                do {
                    event = try mapper.event(from: values, layout: layout)
                    topic = try router.topic(for: event)
                } catch {
                    throw RelayPipelineError(mapping: error)
                }
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
                transaction.ordinal += 1
                open = transaction
                do {
                    try tracker.eventSent(in: transaction.token)
                } catch {
                    throw RelayPipelineError(tracker: error)
                }
                return .publish(
                    Publication(
                        message: OutboxMessage(event: event, topic: topic, sequenceID: sequenceID),
                        transaction: transaction.token,
                        commitTime: transaction.commitTime
                    )
                )
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
        private enum Base: Hashable, Sendable { case mapping, stream, changeOutsideTransaction, sequenceOutOfRange }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// An outbox row or relation could not be mapped (see `mapping`).
        public static let mapping = Code(.mapping)
        /// Begin/Commit pairing broken (see `tracker`).
        public static let stream = Code(.stream)
        public static let changeOutsideTransaction = Code(.changeOutsideTransaction)
        public static let sequenceOutOfRange = Code(.sequenceOutOfRange)
        public var description: String {
            switch base {
            case .mapping: "mapping"
            case .stream: "stream"
            case .changeOutsideTransaction: "changeOutsideTransaction"
            case .sequenceOutOfRange: "sequenceOutOfRange"
            }
        }
    }

    public var code: Code
    public var mapping: OutboxMappingError?
    public var tracker: LSNTrackerError?
    public var lsn: UInt64?

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
        if let mapping { return "RelayPipelineError(\(code): \(mapping))" }
        if let tracker { return "RelayPipelineError(\(code): \(tracker))" }
        return "RelayPipelineError(\(code)\(lsn.map { ", lsn: \(LSNFormat.string($0))" } ?? ""))"
    }
}
