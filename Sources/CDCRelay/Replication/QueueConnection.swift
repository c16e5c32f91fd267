import Dispatch

/// One ordinary libpq connection used from a private serial queue: opened on first use, dropped
/// after a failure and opened again on the next call.
final class QueueConnection: @unchecked Sendable {
    // Only touched on `queue`.
    private var connection: LibPQConnection?
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func execute(_ sql: String, conninfo: String, timeoutSeconds: Double) async throws(ReplicationError) -> QueryResult {
        let result: Result<QueryResult, ReplicationError> = await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: self.executeOnQueue(sql, conninfo: conninfo, timeoutSeconds: timeoutSeconds))
            }
        }
        switch result {
        case .success(let rows): return rows
        case .failure(let error): throw error
        }
    }

    private func executeOnQueue(_ sql: String, conninfo: String, timeoutSeconds: Double) -> Result<QueryResult, ReplicationError> {
        do throws(ReplicationError) {
            let deadline = Deadline.after(seconds: timeoutSeconds)
            let open: LibPQConnection
            if let connection {
                open = connection
            } else {
                open = try LibPQConnection.connect(conninfo: conninfo, deadline: deadline)
                connection = open
            }
            return .success(try open.execute(sql, deadline: deadline).0)
        } catch {
            // A statement error leaves the connection usable, but a lost one does not: start over.
            if error.sqlState == nil { connection = nil }
            return .failure(error)
        }
    }

    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                self.connection = nil
                continuation.resume()
            }
        }
    }
}
