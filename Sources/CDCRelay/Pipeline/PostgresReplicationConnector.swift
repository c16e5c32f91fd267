import Logging
import NIOCore

/// Connects the pipeline to Postgres: slot bootstrap, then a libpq `ReplicationSession` whose
/// CopyData messages are decoded (pgoutput) into `ReplicationInput`s.
///
/// Each `connect()` opens a new session with a fresh decoder and relation cache: after a
/// reconnect the server sends every Relation again.
public struct PostgresReplicationConnector: ReplicationConnector {
    public let configuration: ReplicationConfiguration
    public let table: OutboxTable
    private let logger: Logger
    private let bufferCapacity: Int

    public init(configuration: ReplicationConfiguration, table: OutboxTable = OutboxTable(), bufferCapacity: Int = 4096, logger: Logger) {
        self.configuration = configuration
        self.table = table
        self.bufferCapacity = bufferCapacity
        self.logger = logger
    }

    public func connect() async throws -> ReplicationStart<PostgresReplicationSource> {
        let outcome = try await SlotBootstrap(configuration: configuration, table: table, logger: logger).run()
        let session = ReplicationSession(configuration: configuration, logger: logger, bufferCapacity: bufferCapacity)
        do {
            // The server starts at the newer of this and the slot's confirmed position and skips
            // every transaction that committed before it.
            let start = outcome.streamStart ?? LSN(0)
            if let recorded = outcome.recordedLSN, let slot = outcome.startLSN, recorded > slot {
                logger.notice("starting after the slot's position, at the recorded acknowledged progress", metadata: [
                    "slot_confirmed_lsn": "\(slot)", "recorded_lsn": "\(recorded)",
                ])
            }
            let stream = try await session.startReplication(from: start)
            return ReplicationStart(
                source: PostgresReplicationSource(session: session, stream: stream, protocolVersion: configuration.protocolVersion),
                confirmedLSN: start.value
            )
        } catch {
            await session.close()
            throw error
        }
    }

    public func classify(_ error: any Error) -> FailureClass { FailureClassifier.classify(error) }
}

public struct PostgresReplicationSource: ReplicationSource {
    /// Postgres timestamps count from 2000-01-01; the pipeline uses the Unix epoch.
    static let postgresEpochOffset: Int64 = 946_684_800_000_000

    let session: ReplicationSession
    let stream: ReplicationStream
    let protocolVersion: Int

    public struct Inputs: AsyncIteratorProtocol {
        var messages: ReplicationStream.AsyncIterator
        var decoder: PGOutputDecoder

        public mutating func next() async throws -> ReplicationInput? {
            while let message = try await messages.next() {
                switch message {
                case .keepalive(let keepalive):
                    return .keepalive(walEnd: keepalive.walEnd.value, replyRequested: keepalive.replyRequested)
                case .xLogData(let data):
                    var payload = data.data
                    let decoded = try decoder.decode(&payload)
                    if let input = Self.input(for: decoded) { return input }
                }
            }
            return nil
        }

        static func input(for message: PGOutputMessage) -> ReplicationInput? {
            switch message {
            case .begin(let begin):
                return .begin(
                    finalLSN: begin.finalLSN.value, commitTime: begin.commitTimestamp + postgresEpochOffset, xid: begin.xid)
            case .commit(let commit):
                return .commit(commitLSN: commit.commitLSN.value, endLSN: commit.endLSN.value)
            case .relation(let relation):
                return .relation(
                    id: relation.oid, namespace: relation.namespace, name: relation.name,
                    columnNames: relation.columns.map(\.name))
            case .insert(let insert):
                return .insert(relationID: insert.relationOID, values: insert.newTuple.columns.map(ColumnValue.init))
            default:
                return .otherChange
            }
        }
    }

    public func makeInputs() -> Inputs {
        Inputs(messages: stream.makeAsyncIterator(), decoder: PGOutputDecoder(protocolVersion: protocolVersion))
    }

    public func sendStatus(_ positions: StandbyPositions, replyRequested: Bool) async throws {
        try session.sendStatus(
            StandbyStatusUpdate(
                written: LSN(positions.written), flushed: LSN(positions.flushed), applied: LSN(positions.applied),
                replyRequested: replyRequested))
    }

    public func close() async {
        await session.close()
    }
}

extension ColumnValue {
    init(_ value: TupleValue) {
        switch value {
        case .null: self = .null
        case .unchangedToast: self = .unchangedToast
        case .text(let buffer): self = .text(Array(buffer.readableBytesView))
        case .binary(let buffer): self = .binary(Array(buffer.readableBytesView))
        }
    }
}
