import Foundation
import Logging

/// What `IDENTIFY_SYSTEM` reports.
public struct SystemIdentity: Sendable, Hashable {
    /// The cluster's unique system identifier (a 64-bit number, kept as the server prints it).
    public var systemID: String
    public var timeline: Int
    /// The current WAL flush position.
    public var xlogPosition: LSN
    public var database: String?

    public init(systemID: String, timeline: Int, xlogPosition: LSN, database: String?) {
        self.systemID = systemID
        self.timeline = timeline
        self.xlogPosition = xlogPosition
        self.database = database
    }
}

/// One logical replication connection (`replication=database`) driven by libpq on a dedicated
/// thread: libpq calls never run on Swift's cooperative pool, and only that thread touches the
/// `PGconn`. Async callers talk to it through a lock-protected mailbox plus a wakeup pipe.
///
/// The connection opens on the first call. After the stream fails, create a new session to
/// reconnect (and clear the relation cache).
public final class ReplicationSession: Sendable {
    public let configuration: ReplicationConfiguration
    private let logger: Logger
    private let bufferCapacity: Int
    private let mailbox: SessionMailbox?
    private let setupError: ReplicationError?

    public init(configuration: ReplicationConfiguration, logger: Logger, bufferCapacity: Int = 10_000) {
        self.configuration = configuration
        self.logger = logger
        self.bufferCapacity = max(2, bufferCapacity)
        do {
            self.mailbox = try SessionMailbox()
            self.setupError = nil
        } catch {
            self.mailbox = nil
            self.setupError = error
        }
    }

    deinit {
        // Released without close(): let the thread end the connection on its own.
        _ = mailbox?.submit(.close(nil))
    }

    /// Runs `IDENTIFY_SYSTEM`.
    public func identifySystem() async throws -> SystemIdentity {
        try await withCheckedThrowingContinuation { continuation in
            submit(.identifySystem(continuation))
        }
    }

    /// Runs `START_REPLICATION SLOT … LOGICAL from (…)` and returns the bounded message stream.
    /// The server starts at max(`from`, the slot's confirmed_flush_lsn).
    public func startReplication(from lsn: LSN = LSN(0)) async throws -> ReplicationStream {
        try await withCheckedThrowingContinuation { continuation in
            submit(.startReplication(lsn, continuation))
        }
    }

    /// Queues a standby status update; the session thread writes it as soon as it can, even
    /// while the consumer is not reading. Thread-safe and non-blocking.
    public func sendStatus(_ update: StandbyStatusUpdate) throws {
        guard let mailbox else { throw setupErrorOrClosed }
        try mailbox.enqueueStatus(update)
    }

    /// Ends the stream cleanly (pending status updates first, then CopyDone), closes the
    /// connection and stops the thread. The stream then ends with `nil`.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            guard let mailbox else {
                continuation.resume()
                return
            }
            if mailbox.submit(.close(continuation)) { startThread(mailbox) }
        }
    }

    /// Runs one SQL statement (plain SQL is allowed on a `replication=database` connection).
    func execute(_ sql: String) async throws -> QueryResult {
        try await withCheckedThrowingContinuation { continuation in
            submit(.execute(sql, continuation))
        }
    }

    private var setupErrorOrClosed: ReplicationError {
        setupError ?? ReplicationError(code: .sessionClosed, message: "the replication session is closed")
    }

    private func submit(_ command: SessionCommand) {
        guard let mailbox else {
            command.fail(setupErrorOrClosed)
            return
        }
        if mailbox.submit(command) { startThread(mailbox) }
    }

    private func startThread(_ mailbox: SessionMailbox) {
        let configuration = configuration
        let logger = logger
        let capacity = bufferCapacity
        let thread = Thread {
            let worker = ReplicationThread(configuration: configuration, logger: logger, mailbox: mailbox, bufferCapacity: capacity)
            worker.run()
        }
        thread.name = "cdc-replication"
        thread.start()
    }
}
