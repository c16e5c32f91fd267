import CLibPQ
import Dispatch
import Logging
import ServiceLifecycle

/// Periodically measures how much WAL the slot holds back
/// (`pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)`) on an ordinary connection.
///
/// libpq calls block, so they run on a private dispatch queue, never on the cooperative pool.
public struct RetainedWALMonitor: Service, CustomStringConvertible {
    private let conninfo: String
    private let slotName: String
    private let interval: Duration
    private let metrics: RelayMetrics
    private let logger: Logger
    private let queue = DispatchQueue(label: "outbox-relay.retained-wal")

    public init(conninfo: String, slotName: String, interval: Duration = .seconds(15), metrics: RelayMetrics, logger: Logger) {
        self.conninfo = conninfo
        self.slotName = slotName
        self.interval = interval
        self.metrics = metrics
        self.logger = logger
    }

    /// The connection string holds the password: never print it.
    public var description: String { "RetainedWALMonitor(slot: \(slotName))" }

    public func run() async throws {
        var lastError: String?
        while !Task.isShuttingDownGracefully {
            switch await measure() {
            case .success(let bytes):
                if let bytes { metrics.retainedWALBytes.set(Double(bytes)) }
                lastError = nil
            case .failure(let failure):
                let message = failure.message
                if message != lastError {
                    logger.warning("retained WAL query failed", metadata: ["error": "\(message)"])
                }
                lastError = message
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }

    struct QueryFailure: Error, Equatable { var message: String }

    /// Bytes retained by the slot, nil when the slot does not exist (yet).
    func measure() async -> Result<UInt64?, QueryFailure> {
        let conninfo = conninfo
        let slotName = slotName
        return await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: Self.query(conninfo: conninfo, slotName: slotName))
            }
        }
    }

    private static func query(conninfo: String, slotName: String) -> Result<UInt64?, QueryFailure> {
        guard let connection = PQconnectdb(conninfo) else { return .failure(QueryFailure(message: "out of memory")) }
        defer { PQfinish(connection) }
        guard PQstatus(connection) == CONNECTION_OK else {
            return .failure(QueryFailure(message: String(cString: PQerrorMessage(connection))))
        }
        let sql = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint FROM pg_replication_slots WHERE slot_name = $1"
        let result: OpaquePointer? = slotName.withCString { slot in
            var values: [UnsafePointer<CChar>?] = [slot]
            return PQexecParams(connection, sql, 1, nil, &values, nil, nil, 0)
        }
        guard let result else { return .failure(QueryFailure(message: String(cString: PQerrorMessage(connection)))) }
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_TUPLES_OK else {
            return .failure(QueryFailure(message: String(cString: PQresultErrorMessage(result))))
        }
        guard PQntuples(result) == 1, PQgetisnull(result, 0, 0) == 0, let text = PQgetvalue(result, 0, 0) else {
            return .success(nil)
        }
        return .success(UInt64(String(cString: text)))
    }
}
