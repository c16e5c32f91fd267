import Synchronization

/// The newest position the broker acknowledged everything up to, as the relay records it in
/// `outbox_relay_slots` (next to the slot's identity).
public struct AckedProgress: Sendable, Hashable {
    /// The confirmed LSN (end of the newest fully-acked transaction, or an idle keepalive's end).
    public var lsn: UInt64
    /// Commit time (Unix microseconds) of the newest acked transaction, when one was seen.
    public var commitTime: Int64?

    public init(lsn: UInt64, commitTime: Int64?) {
        self.lsn = lsn
        self.commitTime = commitTime
    }
}

/// Where the session posts its confirmed progress and the recorder picks it up: the two never
/// wait for each other (a slow database must not hold the status loop).
public final class AckedProgressBoard: Sendable {
    private let state = Mutex<AckedProgress?>(nil)

    public init() {}

    /// Keeps the newest: a position never moves backwards.
    public func post(_ progress: AckedProgress) {
        state.withLock { current in
            guard let existing = current else {
                current = progress
                return
            }
            if progress.lsn > existing.lsn {
                current = AckedProgress(lsn: progress.lsn, commitTime: progress.commitTime ?? existing.commitTime)
            } else if progress.lsn == existing.lsn, existing.commitTime == nil {
                current?.commitTime = progress.commitTime
            }
        }
    }

    public var latest: AckedProgress? { state.withLock { $0 } }
}

/// When the recorder writes: a changed position, at most once per `interval` (the write is a
/// committed row: cheap, but not per event). A position that moved only through idle keepalives
/// (no new transaction of ours: the same commit time) waits `idleInterval`, because the write
/// itself makes WAL and so moves the idle position again. Pure.
public struct ProgressSchedule: Sendable, Hashable {
    public let interval: Duration
    public let idleInterval: Duration
    private(set) var written: AckedProgress?
    private var lastWrite: ContinuousClock.Instant?

    public init(interval: Duration = .seconds(1), idleInterval: Duration = .seconds(10)) {
        self.interval = interval
        self.idleInterval = max(interval, idleInterval)
    }

    /// The progress to write now, if any.
    public func due(_ latest: AckedProgress?, now: ContinuousClock.Instant) -> AckedProgress? {
        guard let latest, latest != written else { return nil }
        if let written, latest.lsn <= written.lsn, latest.commitTime == written.commitTime { return nil }
        guard let lastWrite, let written else { return latest }
        let idle = latest.commitTime == written.commitTime
        if now - lastWrite < (idle ? idleInterval : interval) { return nil }
        return latest
    }

    /// The write committed.
    public mutating func wrote(_ progress: AckedProgress, at now: ContinuousClock.Instant) {
        written = progress
        lastWrite = now
    }
}
