import CLibPQ
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The rows of a simple-protocol query result, as text.
struct QueryResult: Sendable, Hashable {
    var columns: [String]
    var rows: [[String?]]

    func value(row: Int, column name: String) -> String? {
        guard row < rows.count, let index = columns.firstIndex(of: name) else { return nil }
        return rows[row][index]
    }
}

/// What one `PQgetCopyData` call produced.
enum CopyReadResult {
    case message(ByteBuffer)
    /// No complete message buffered: wait for the socket, then `consumeInput()`.
    case wouldBlock
    /// The server ended the COPY; the final status is in `error` (nil = clean end).
    case ended(ReplicationError?)
}

/// A libpq connection in non-blocking mode, driven only by the session's own thread.
///
/// Not Sendable on purpose: a `PGconn` must never be used from two threads.
final class LibPQConnection {
    private let conn: OpaquePointer

    private init(conn: OpaquePointer) {
        self.conn = conn
    }

    deinit {
        PQfinish(conn)
    }

    var socket: Int32 { PQsocket(conn) }

    var errorMessage: String {
        Self.trimmed(PQerrorMessage(conn).map { String(cString: $0) } ?? "unknown libpq error")
    }

    /// Connects without blocking past `deadline` (PQconnectStart + PQconnectPoll + poll()).
    static func connect(conninfo: String, deadline: Deadline) throws(ReplicationError) -> LibPQConnection {
        guard let raw = PQconnectStart(conninfo) else {
            throw ReplicationError(code: .connectionFailed, message: "libpq could not allocate a connection")
        }
        let connection = LibPQConnection(conn: raw)
        guard PQstatus(raw) != CONNECTION_BAD else {
            throw ReplicationError(code: .connectionFailed, message: connection.errorMessage)
        }
        var status = PGRES_POLLING_WRITING
        while true {
            switch status {
            case PGRES_POLLING_OK:
                guard PQsetnonblocking(raw, 1) == 0 else {
                    throw ReplicationError(code: .connectionFailed, message: connection.errorMessage)
                }
                return connection
            case PGRES_POLLING_FAILED:
                throw ReplicationError(code: .connectionFailed, message: connection.errorMessage)
            case PGRES_POLLING_READING:
                try connection.wait(readable: true, writable: false, deadline: deadline, what: "connecting")
            default:
                try connection.wait(readable: false, writable: true, deadline: deadline, what: "connecting")
            }
            status = PQconnectPoll(raw)
        }
    }

    /// Waits until the socket is ready or the deadline passes (then `.timeout`).
    func wait(readable: Bool, writable: Bool, deadline: Deadline, what: String) throws(ReplicationError) {
        let fd = socket
        guard fd >= 0 else {
            throw ReplicationError(code: .connectionLost, message: "no socket while \(what): \(errorMessage)")
        }
        var events: Int16 = 0
        if readable { events |= Int16(POLLIN) }
        if writable { events |= Int16(POLLOUT) }
        while true {
            let remaining = deadline.remainingMilliseconds
            guard remaining > 0 else {
                throw ReplicationError(code: .timeout, message: "timed out while \(what)")
            }
            var pfd = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&pfd, 1, remaining)
            if ready > 0 { return }
            if ready < 0 && errno != EINTR {
                throw ReplicationError(code: .connectionLost, message: "poll failed while \(what): errno \(errno)")
            }
        }
    }

    /// Runs one statement with the simple query protocol. Returns the rows of the last result;
    /// a COPY_BOTH result (START_REPLICATION) returns at once with the connection in copy mode.
    func execute(_ sql: String, deadline: Deadline) throws(ReplicationError) -> (QueryResult, isCopyBoth: Bool) {
        guard PQsendQuery(conn, sql) == 1 else {
            throw ReplicationError(code: .connectionLost, message: errorMessage)
        }
        try flushAll(deadline: deadline, what: "sending a command")
        var last = QueryResult(columns: [], rows: [])
        var firstError: ReplicationError?
        while true {
            while PQisBusy(conn) == 1 {
                try wait(readable: true, writable: false, deadline: deadline, what: "waiting for a command result")
                guard PQconsumeInput(conn) == 1 else {
                    throw ReplicationError(code: .connectionLost, message: errorMessage)
                }
            }
            guard let result = PQgetResult(conn) else { break }
            defer { PQclear(result) }
            let status = PQresultStatus(result)
            switch status {
            case PGRES_COPY_BOTH:
                return (last, true)
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
                last = Self.rows(of: result)
            default:
                if firstError == nil { firstError = Self.error(from: result, code: .queryFailed) }
            }
        }
        if let firstError { throw firstError }
        return (last, false)
    }

    /// Sends everything libpq has buffered, waiting for the socket as needed.
    func flushAll(deadline: Deadline, what: String) throws(ReplicationError) {
        while true {
            switch PQflush(conn) {
            case 0: return
            case 1:
                try wait(readable: true, writable: true, deadline: deadline, what: what)
                // libpq asks to absorb input while it waits to write, or both sides could block.
                guard PQconsumeInput(conn) == 1 else {
                    throw ReplicationError(code: .connectionLost, message: errorMessage)
                }
            default:
                throw ReplicationError(code: .connectionLost, message: errorMessage)
            }
        }
    }

    /// Non-blocking flush: true when everything is sent, false when the socket must become writable first.
    func flush() throws(ReplicationError) -> Bool {
        switch PQflush(conn) {
        case 0: return true
        case 1: return false
        default: throw ReplicationError(code: .connectionLost, message: errorMessage)
        }
    }

    /// Reads socket data into libpq's buffer.
    func consumeInput() throws(ReplicationError) {
        guard PQconsumeInput(conn) == 1 else {
            throw ReplicationError(code: .connectionLost, message: errorMessage)
        }
    }

    func readCopyData() throws(ReplicationError) -> CopyReadResult {
        var pointer: UnsafeMutablePointer<CChar>?
        let length = PQgetCopyData(conn, &pointer, 1)
        if length > 0, let pointer {
            defer { PQfreemem(pointer) }
            let bytes = UnsafeRawBufferPointer(start: pointer, count: Int(length))
            var buffer = ByteBufferAllocator().buffer(capacity: Int(length))
            buffer.writeBytes(bytes)
            return .message(buffer)
        }
        switch length {
        case 0:
            return .wouldBlock
        case -1:
            return .ended(finalCopyStatus())
        default:
            throw ReplicationError(code: .connectionLost, message: errorMessage)
        }
    }

    /// After the COPY ended: drains results; returns the first error, if any.
    private func finalCopyStatus() -> ReplicationError? {
        var firstError: ReplicationError?
        // In non-blocking mode PQgetResult may need input; a bounded number of tries keeps this finite.
        var spins = 0
        while spins < 50 {
            if PQisBusy(conn) == 1 {
                spins += 1
                var pfd = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
                _ = poll(&pfd, 1, 100)
                if PQconsumeInput(conn) != 1 {
                    return firstError ?? ReplicationError(code: .connectionLost, message: errorMessage)
                }
                continue
            }
            guard let result = PQgetResult(conn) else { break }
            let status = PQresultStatus(result)
            if status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_COPY_OUT && status != PGRES_COPY_BOTH,
               firstError == nil {
                firstError = Self.error(from: result, code: .copyEnded)
            }
            PQclear(result)
            if status == PGRES_COPY_BOTH || status == PGRES_COPY_OUT { break }
        }
        return firstError
    }

    enum PutResult { case queued, wouldBlock }

    func putCopyData(_ bytes: [UInt8]) throws(ReplicationError) -> PutResult {
        let result = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { PQputCopyData(conn, $0.baseAddress, Int32($0.count)) }
        }
        switch result {
        case 1: return .queued
        case 0: return .wouldBlock
        default: throw ReplicationError(code: .connectionLost, message: errorMessage)
        }
    }

    /// Ends our side of the COPY; false when it must be retried once the socket is writable.
    func putCopyEnd() throws(ReplicationError) -> Bool {
        switch PQputCopyEnd(conn, nil) {
        case 1: return true
        case 0: return false
        default: throw ReplicationError(code: .connectionLost, message: errorMessage)
        }
    }

    // MARK: results

    private static func rows(of result: OpaquePointer) -> QueryResult {
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        var columns: [String] = []
        for column in 0..<columnCount {
            columns.append(PQfname(result, Int32(column)).map { String(cString: $0) } ?? "")
        }
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var values: [String?] = []
            for column in 0..<columnCount {
                if PQgetisnull(result, Int32(row), Int32(column)) == 1 {
                    values.append(nil)
                } else {
                    values.append(PQgetvalue(result, Int32(row), Int32(column)).map { String(cString: $0) })
                }
            }
            rows.append(values)
        }
        return QueryResult(columns: columns, rows: rows)
    }

    // PG_DIAG_SQLSTATE and PG_DIAG_MESSAGE_PRIMARY: character-literal macros Swift does not import.
    private static let diagSQLState = Int32(UInt8(ascii: "C"))
    private static let diagMessagePrimary = Int32(UInt8(ascii: "M"))

    /// Maps a failed result to a typed error, keeping the SQLSTATE.
    static func error(from result: OpaquePointer, code: ReplicationError.Code) -> ReplicationError {
        let sqlState = PQresultErrorField(result, diagSQLState).map { String(cString: $0) }
        let primary = PQresultErrorField(result, diagMessagePrimary).map { String(cString: $0) }
        let message = primary ?? trimmed(PQresultErrorMessage(result).map { String(cString: $0) } ?? "")
        return ReplicationError(code: ReplicationError.classify(sqlState: sqlState, message: message, default: code), sqlState: sqlState, message: message)
    }

    private static func trimmed(_ text: String) -> String {
        var text = text
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return text
    }
}

extension ReplicationError {
    /// Slot conditions the relay reacts to, recognised from the server's SQLSTATE.
    static func classify(sqlState: String?, message: String, default code: Code) -> Code {
        switch sqlState {
        case "55006":
            // object_in_use: "replication slot … is active for PID n"
            return .slotBusy
        case "42704" where message.contains("replication slot"):
            return .slotVanished
        case "55000" where message.contains("invalidated"):
            // "can no longer get changes from replication slot …: This slot has been invalidated …"
            return .slotLost
        case "57P01", "57P02", "57P03":
            // admin_shutdown / crash_shutdown / cannot_connect_now
            return .connectionLost
        default:
            return code
        }
    }
}

/// A monotonic point in time for poll() timeouts.
struct Deadline: Sendable {
    private let nanoseconds: UInt64

    static func after(seconds: Double) -> Deadline {
        Deadline(nanoseconds: monotonicNow() &+ UInt64(max(0, seconds) * 1_000_000_000))
    }

    private init(nanoseconds: UInt64) {
        self.nanoseconds = nanoseconds
    }

    var remainingMilliseconds: Int32 {
        let now = Self.monotonicNow()
        guard nanoseconds > now else { return 0 }
        return Int32(clamping: (nanoseconds - now + 999_999) / 1_000_000)
    }

    static func monotonicNow() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}
