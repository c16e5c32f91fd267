import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The body of the session's dedicated thread: owns the libpq connection, runs commands,
/// and while streaming reads CopyData into the bounded stream and writes status updates.
final class ReplicationThread {
    private let configuration: ReplicationConfiguration
    private var logger: Logger
    private let mailbox: SessionMailbox
    private let bufferCapacity: Int
    private var connection: LibPQConnection?
    private var stream: StreamState?

    /// Per stream: the producer side of the bounded sequence and the write/read flags.
    private struct StreamState {
        var source: ReplicationStream.Producer.Source
        var pendingWrites: [[UInt8]] = []
        var needsFlush = false
        var paused = false
        var pausedAtGeneration: UInt64 = 0
        var consumerGone = false
    }

    /// Messages read per round before checking the mailbox again.
    private let readBatch = 256
    /// Idle poll timeout; also bounds how late a command is noticed if a wakeup were lost.
    private let pollTimeoutMilliseconds: Int32 = 1_000

    init(configuration: ReplicationConfiguration, logger: Logger, mailbox: SessionMailbox, bufferCapacity: Int) {
        self.configuration = configuration
        self.logger = logger
        self.logger[metadataKey: "slot"] = .string(configuration.slotName)
        self.mailbox = mailbox
        self.bufferCapacity = bufferCapacity
    }

    func run() {
        defer {
            if stream != nil {
                finishStream(ReplicationError(code: .sessionClosed, message: "the replication session is closed"))
            }
            connection = nil
            mailbox.shutDown()
        }
        while true {
            let snapshot = mailbox.take()
            if var current = stream {
                current.pendingWrites.append(contentsOf: snapshot.statusUpdates.map { $0.encoded() })
                if current.paused && snapshot.demandGeneration != current.pausedAtGeneration {
                    current.paused = false
                }
                if snapshot.consumerTerminated { current.consumerGone = true }
                stream = current
            }
            for command in snapshot.commands {
                if case .close(let continuation) = command {
                    shutDownConnection()
                    continuation?.resume()
                    return
                }
                handle(command)
            }
            if stream != nil {
                serviceStream(generation: snapshot.demandGeneration)
            } else {
                var wake = pollfd(fd: mailbox.wakeReadFD, events: Int16(POLLIN), revents: 0)
                _ = poll(&wake, 1, pollTimeoutMilliseconds)
            }
        }
    }

    // MARK: commands

    private func handle(_ command: SessionCommand) {
        switch command {
        case .identifySystem(let continuation):
            continuation.resume(with: Result { () throws(ReplicationError) -> SystemIdentity in try identifySystem() })
        case .execute(let sql, let continuation):
            continuation.resume(with: Result { () throws(ReplicationError) -> QueryResult in try execute(sql) })
        case .startReplication(let lsn, let continuation):
            continuation.resume(with: Result { () throws(ReplicationError) -> ReplicationStream in try startReplication(from: lsn) })
        case .close(let continuation):
            continuation?.resume()
        }
    }

    private func connected() throws(ReplicationError) -> LibPQConnection {
        if let connection { return connection }
        let deadline = Deadline.after(seconds: Double(configuration.connectTimeoutSeconds) + 1)
        let fresh = try LibPQConnection.connect(conninfo: configuration.connectionString, deadline: deadline)
        logger.debug("replication connection open", metadata: ["host": "\(configuration.host):\(configuration.port)"])
        connection = fresh
        return fresh
    }

    private func commandDeadline() -> Deadline {
        Deadline.after(seconds: configuration.commandTimeoutSeconds)
    }

    private func guardNotStreaming(_ what: String) throws(ReplicationError) {
        guard stream == nil else {
            throw ReplicationError(code: .invalidState, message: "\(what) is not possible while streaming")
        }
    }

    private func execute(_ sql: String) throws(ReplicationError) -> QueryResult {
        try guardNotStreaming("a SQL command")
        let connection = try connected()
        do throws(ReplicationError) {
            let (result, isCopy) = try connection.execute(sql, deadline: commandDeadline())
            guard !isCopy else {
                dropConnection()
                throw ReplicationError(code: .protocolViolation, message: "a command unexpectedly started a COPY")
            }
            return result
        } catch {
            if error.code != .queryFailed && error.code != .slotBusy && error.code != .slotVanished && error.code != .slotLost {
                dropConnection()
            }
            throw error
        }
    }

    private func identifySystem() throws(ReplicationError) -> SystemIdentity {
        let result = try execute("IDENTIFY_SYSTEM")
        guard result.rows.count == 1,
              let systemID = result.value(row: 0, column: "systemid"),
              let timelineText = result.value(row: 0, column: "timeline"), let timeline = Int(timelineText),
              let positionText = result.value(row: 0, column: "xlogpos"), let position = LSN(positionText)
        else {
            throw ReplicationError(code: .protocolViolation, message: "unexpected IDENTIFY_SYSTEM result \(result.columns)")
        }
        return SystemIdentity(systemID: systemID, timeline: timeline, xlogPosition: position, database: result.value(row: 0, column: "dbname"))
    }

    private func startReplication(from lsn: LSN) throws(ReplicationError) -> ReplicationStream {
        try guardNotStreaming("START_REPLICATION")
        guard configuration.protocolVersion == 1 || configuration.protocolVersion == 2 else {
            throw ReplicationError(code: .invalidState, message: "proto_version \(configuration.protocolVersion) is not supported (1 or 2)")
        }
        let connection = try connected()
        let command = configuration.startReplicationCommand(from: lsn)
        let isCopy: Bool
        do throws(ReplicationError) {
            (_, isCopy) = try connection.execute(command, deadline: commandDeadline())
        } catch {
            if error.code != .queryFailed && error.code != .slotBusy && error.code != .slotVanished && error.code != .slotLost {
                dropConnection()
            }
            throw error
        }
        guard isCopy else {
            dropConnection()
            throw ReplicationError(code: .protocolViolation, message: "START_REPLICATION did not enter CopyBoth mode")
        }
        let low = max(1, bufferCapacity / 2)
        let made = ReplicationStream.Producer.makeSequence(
            elementType: ReplicationMessage.self,
            failureType: (any Error).self,
            backPressureStrategy: .init(lowWatermark: low, highWatermark: bufferCapacity),
            finishOnDeinit: false,
            delegate: ReplicationStreamDelegate(mailbox: mailbox)
        )
        stream = StreamState(source: made.source)
        mailbox.streamStarted()
        logger.info("replication started", metadata: ["from": "\(lsn)", "command": "\(command)"])
        return ReplicationStream(base: made.sequence)
    }

    // MARK: streaming

    private func serviceStream(generation: UInt64) {
        guard var current = stream, let connection else { return }
        do throws(ReplicationError) {
            // Status updates first: they must go out even while the consumer is slow.
            while let next = current.pendingWrites.first {
                guard try connection.putCopyData(next) == .queued else { break }
                current.pendingWrites.removeFirst()
                current.needsFlush = true
            }
            if current.needsFlush {
                current.needsFlush = !(try connection.flush())
            }

            let reading = !current.paused && !current.consumerGone
            var moreBuffered = false
            if reading {
                var batch: [ReplicationMessage] = []
                batch.reserveCapacity(16)
                reads: while batch.count < readBatch {
                    switch try connection.readCopyData() {
                    case .message(var bytes):
                        if let message = try ReplicationMessage.decode(&bytes) {
                            batch.append(message)
                        } else {
                            logger.debug("skipping unknown replication message", metadata: ["tag": "\(bytes.getInteger(at: 0, as: UInt8.self) ?? 0)"])
                        }
                    case .wouldBlock:
                        break reads
                    case .ended(let failure):
                        stream = current
                        if !batch.isEmpty { _ = current.source.yield(contentsOf: batch) }
                        endStream(failure ?? ReplicationError(code: .copyEnded, message: "the server ended the replication stream"))
                        return
                    }
                }
                moreBuffered = batch.count == readBatch
                if !batch.isEmpty {
                    switch current.source.yield(contentsOf: batch) {
                    case .produceMore:
                        break
                    case .stopProducing:
                        current.paused = true
                        current.pausedAtGeneration = generation
                        moreBuffered = false
                    case .dropped:
                        current.consumerGone = true
                        moreBuffered = false
                    }
                }
            }
            stream = current

            // Wait for the socket (only the directions we need) or a wakeup.
            var events: Int16 = 0
            if reading && !current.paused && !current.consumerGone { events |= Int16(POLLIN) }
            if current.needsFlush || !current.pendingWrites.isEmpty { events |= Int16(POLLOUT) }
            var fds = [
                pollfd(fd: mailbox.wakeReadFD, events: Int16(POLLIN), revents: 0),
                pollfd(fd: events == 0 ? -1 : connection.socket, events: events, revents: 0),
            ]
            let ready = poll(&fds, 2, moreBuffered ? 0 : pollTimeoutMilliseconds)
            if ready > 0, events & Int16(POLLIN) != 0,
               fds[1].revents & (Int16(POLLIN) | Int16(POLLHUP) | Int16(POLLERR)) != 0 {
                do throws(ReplicationError) {
                    try connection.consumeInput()
                } catch {
                    // The server usually says why before it closes (e.g. 57P01 on shutdown): prefer that.
                    throw serverReason(connection) ?? error
                }
            }
        } catch {
            stream = current
            endStream(error)
        }
    }

    /// The error the server sent before the connection broke, if libpq buffered one.
    private func serverReason(_ connection: LibPQConnection) -> ReplicationError? {
        for _ in 0..<readBatch {
            switch try? connection.readCopyData() {
            case .message: continue
            case .ended(let failure): return failure
            default: return nil
            }
        }
        return nil
    }

    /// The server or the connection ended the stream: fail it and forget the connection.
    private func endStream(_ failure: ReplicationError) {
        logger.warning("replication stream ended", metadata: ["error": "\(failure)"])
        finishStream(failure)
        dropConnection()
    }

    private func finishStream(_ failure: ReplicationError?) {
        guard let current = stream else { return }
        if let failure {
            current.source.finish(failure)
        } else {
            current.source.finish()
        }
        stream = nil
        mailbox.streamEnded(failure)
    }

    private func dropConnection() {
        connection = nil
    }

    /// close(): flush status updates, CopyDone, drain until the server's CopyDone, then PQfinish.
    private func shutDownConnection() {
        defer {
            finishStream(nil)
            dropConnection()
        }
        guard var current = stream, let connection else { return }
        let deadline = Deadline.after(seconds: 5)
        do {
            // Updates queued by close() callers just before are in the mailbox snapshot already.
            for update in current.pendingWrites {
                while try connection.putCopyData(update) == .wouldBlock {
                    try connection.wait(readable: false, writable: true, deadline: deadline, what: "sending the final status update")
                }
            }
            current.pendingWrites.removeAll()
            while try !connection.putCopyEnd() {
                try connection.wait(readable: false, writable: true, deadline: deadline, what: "ending the COPY")
            }
            try connection.flushAll(deadline: deadline, what: "ending the COPY")
            drain: while true {
                switch try connection.readCopyData() {
                case .message:
                    continue
                case .wouldBlock:
                    try connection.wait(readable: true, writable: false, deadline: deadline, what: "waiting for the server's CopyDone")
                    try connection.consumeInput()
                case .ended(let failure):
                    if let failure { logger.debug("replication ended with", metadata: ["error": "\(failure)"]) }
                    break drain
                }
            }
            logger.info("replication stream closed")
        } catch {
            logger.warning("replication stream did not close cleanly", metadata: ["error": "\(error)"])
        }
        stream = current
    }
}
