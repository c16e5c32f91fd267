import NIOCore

/// Collects the chunks of chunked messages until each message is whole. A pure value keyed by
/// the messages' `uuid`; time is passed in. Memory is bounded: at most `maxPendingMessages`
/// incomplete messages holding at most `maxPendingBytes` (reserved from `total_chunk_msg_size`
/// when a message's first chunk arrives), and an incomplete message expires after `expiry`.
///
/// What happens to the chunks of a message that is not delivered (`Discard.disposition`):
/// - expired (the rest never came, e.g. the producer died mid-message): acknowledged, like the
///   Java client's `expireTimeOfIncompleteChunkedMessage`;
/// - dropped as the oldest because a limit was reached: asked for again (`redeliver`), or
///   acknowledged when `acknowledgeDroppedMessages` (Java's `autoAckOldestChunkedMessageOnQueueFull`);
/// - a message bigger than `maxPendingBytes` on its own: left unacknowledged (the broker sends it
///   again after a reconnect), or acknowledged when `acknowledgeDroppedMessages`;
/// - an earlier attempt superseded by a new chunk 0 at another position, or a duplicate chunk at
///   another position: acknowledged (nothing will ever need them);
/// - a broken sequence (gap, counts that change, orphan chunk without its chunk 0): left
///   unacknowledged, so the broker's next redelivery brings the whole message again in order.
/// Later chunks of a message given up on (expired, dropped, too large) are treated like its
/// earlier ones, so its chunks are all acknowledged or all asked for again.
struct ChunkReassembler: Sendable {
    struct Limits: Sendable, Hashable {
        var maxPendingMessages: Int
        var maxPendingBytes: Int
        var expiry: TimeAmount
        var acknowledgeDroppedMessages: Bool
    }

    /// One chunk as it arrived (its payload is a slice of the message's compressed payload).
    struct Chunk: Sendable {
        var uuid: String
        var chunkID: Int
        var numChunks: Int
        var totalSize: Int
        var id: PulsarMessageID
        var payload: ByteBuffer
    }

    struct Completed: Sendable, Hashable {
        var uuid: String
        var payload: ByteBuffer
        /// Every chunk's message id, first to last.
        var chunkIDs: [PulsarMessageID]
    }

    enum Disposition: Sendable, Hashable {
        case acknowledge
        case redeliver
        /// Neither: the broker delivers them again after the next reconnect.
        case leave
    }

    enum Reason: String, Sendable, Hashable {
        case expired
        case tooManyPendingMessages
        case tooManyPendingBytes
        case messageTooLarge
        case superseded
        case duplicate
        case brokenSequence
        case malformed
    }

    struct Discard: Sendable, Hashable {
        var uuid: String
        var chunkIDs: [PulsarMessageID]
        var disposition: Disposition
        var reason: Reason
    }

    struct Outcome: Sendable {
        var completed: Completed?
        var discarded: [Discard] = []
    }

    private struct Pending: Sendable {
        var numChunks: Int
        var totalSize: Int
        var buffer: ByteBuffer
        var ids: [PulsarMessageID]
        var startedAt: NIODeadline
    }

    let limits: Limits
    private var pending: [String: Pending] = [:]
    /// Uuids of incomplete messages, oldest first (the eviction order).
    private var order: [String] = []
    /// Messages given up on (too large, dropped for room, expired) with what was done with their
    /// chunks: their later chunks get the same treatment, so a message dropped for redelivery is
    /// redelivered whole and an expired one is acknowledged whole. Bounded; the oldest go first.
    private var forgotten: [(uuid: String, disposition: Disposition, reason: Reason)] = []
    private static let forgottenMemory = 64

    init(limits: Limits) {
        self.limits = limits
    }

    var pendingMessages: Int { pending.count }
    /// Bytes reserved by incomplete messages.
    private(set) var pendingBytes = 0

    mutating func receive(_ chunk: Chunk, now: NIODeadline) -> Outcome {
        var outcome = Outcome(discarded: expire(now: now))
        guard chunk.numChunks >= 1, chunk.chunkID >= 0, chunk.chunkID < chunk.numChunks, chunk.totalSize >= 0 else {
            outcome.discarded.append(Discard(uuid: chunk.uuid, chunkIDs: [chunk.id], disposition: .acknowledge, reason: .malformed))
            return outcome
        }
        // Only the small fields are copied out: the buffer is appended to in place (a copy of
        // it would make every append copy the whole message so far).
        if let message = pending[chunk.uuid].map({ (numChunks: $0.numChunks, totalSize: $0.totalSize, ids: $0.ids) }) {
            if chunk.chunkID == message.ids.count, chunk.numChunks == message.numChunks, chunk.totalSize == message.totalSize {
                pending[chunk.uuid]?.buffer.writeImmutableBuffer(chunk.payload)
                pending[chunk.uuid]?.ids.append(chunk.id)
                settle(chunk.uuid, into: &outcome)
                return outcome
            }
            if chunk.chunkID == 0 {
                // The same chunk 0 again is the broker redelivering; another one is a new attempt.
                let redelivered = message.ids.first == chunk.id
                outcome.discarded.append(remove(chunk.uuid, disposition: redelivered ? .leave : .acknowledge, reason: .superseded))
            } else if chunk.chunkID < message.ids.count {
                // Held already (redelivered) or a copy at another position (a producer resend).
                if message.ids[chunk.chunkID] != chunk.id {
                    outcome.discarded.append(Discard(uuid: chunk.uuid, chunkIDs: [chunk.id], disposition: .acknowledge, reason: .duplicate))
                }
                return outcome
            } else {
                var broken = remove(chunk.uuid, disposition: .leave, reason: .brokenSequence)
                broken.chunkIDs.append(chunk.id)
                outcome.discarded.append(broken)
                return outcome
            }
        }
        guard chunk.chunkID == 0 else {
            if let earlier = forgotten.last(where: { $0.uuid == chunk.uuid }) {
                outcome.discarded.append(Discard(uuid: chunk.uuid, chunkIDs: [chunk.id], disposition: earlier.disposition, reason: earlier.reason))
            } else {
                outcome.discarded.append(Discard(uuid: chunk.uuid, chunkIDs: [chunk.id], disposition: .leave, reason: .brokenSequence))
            }
            return outcome
        }
        // A first chunk starts the message afresh, whatever happened to it before.
        forgotten.removeAll { $0.uuid == chunk.uuid }
        guard chunk.totalSize <= limits.maxPendingBytes else {
            let disposition: Disposition = limits.acknowledgeDroppedMessages ? .acknowledge : .leave
            remember(chunk.uuid, disposition, .messageTooLarge)
            outcome.discarded.append(Discard(uuid: chunk.uuid, chunkIDs: [chunk.id], disposition: disposition, reason: .messageTooLarge))
            return outcome
        }
        let dropped: Disposition = limits.acknowledgeDroppedMessages ? .acknowledge : .redeliver
        while pending.count >= max(1, limits.maxPendingMessages), let oldest = order.first {
            outcome.discarded.append(remove(oldest, disposition: dropped, reason: .tooManyPendingMessages))
        }
        while pendingBytes + chunk.totalSize > limits.maxPendingBytes, let oldest = order.first {
            outcome.discarded.append(remove(oldest, disposition: dropped, reason: .tooManyPendingBytes))
        }
        var buffer = ByteBufferAllocator().buffer(capacity: chunk.totalSize)
        buffer.writeImmutableBuffer(chunk.payload)
        pending[chunk.uuid] = Pending(numChunks: chunk.numChunks, totalSize: chunk.totalSize, buffer: buffer, ids: [chunk.id], startedAt: now)
        order.append(chunk.uuid)
        pendingBytes += chunk.totalSize
        settle(chunk.uuid, into: &outcome)
        return outcome
    }

    /// Drops every incomplete message whose first chunk came `expiry` ago or earlier.
    mutating func expire(now: NIODeadline) -> [Discard] {
        guard limits.expiry.nanoseconds > 0 else { return [] }
        let expired = order.filter { uuid in pending[uuid].map { $0.startedAt + limits.expiry <= now } ?? false }
        return expired.map { remove($0, disposition: .acknowledge, reason: .expired) }
    }

    /// The connection is gone: the broker redelivers every unacknowledged chunk, so start over.
    mutating func reset() {
        pending.removeAll()
        order.removeAll()
        forgotten.removeAll()
        pendingBytes = 0
    }

    private mutating func remember(_ uuid: String, _ disposition: Disposition, _ reason: Reason) {
        forgotten.append((uuid, disposition, reason))
        if forgotten.count > Self.forgottenMemory { forgotten.removeFirst() }
    }

    private mutating func remove(_ uuid: String, disposition: Disposition, reason: Reason) -> Discard {
        let message = pending.removeValue(forKey: uuid)
        order.removeAll { $0 == uuid }
        pendingBytes -= message?.totalSize ?? 0
        switch reason {
        case .expired, .tooManyPendingMessages, .tooManyPendingBytes: remember(uuid, disposition, reason)
        case .messageTooLarge, .superseded, .duplicate, .brokenSequence, .malformed: break
        }
        return Discard(uuid: uuid, chunkIDs: message?.ids ?? [], disposition: disposition, reason: reason)
    }

    /// Delivers the message once its last chunk is in; drops it when the sizes do not add up.
    private mutating func settle(_ uuid: String, into outcome: inout Outcome) {
        guard let message = pending[uuid] else { return }
        let size = message.buffer.readableBytes
        if message.ids.count == message.numChunks, size == message.totalSize {
            _ = remove(uuid, disposition: .leave, reason: .brokenSequence)
            outcome.completed = Completed(uuid: uuid, payload: message.buffer, chunkIDs: message.ids)
        } else if size > message.totalSize || message.ids.count == message.numChunks {
            outcome.discarded.append(remove(uuid, disposition: .leave, reason: .brokenSequence))
        }
    }
}
