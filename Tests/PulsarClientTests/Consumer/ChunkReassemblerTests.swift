import NIOCore
import Testing
@testable import PulsarClient

@Suite struct ChunkReassemblerTests {
    typealias Reassembler = ChunkReassembler
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func limits(messages: Int = 10, bytes: Int = 1 << 20, expiry: TimeAmount = .seconds(60), acknowledge: Bool = false) -> Reassembler.Limits {
        Reassembler.Limits(maxPendingMessages: messages, maxPendingBytes: bytes, expiry: expiry, acknowledgeDroppedMessages: acknowledge)
    }

    static func id(_ entry: UInt64) -> PulsarMessageID { PulsarMessageID(ledgerID: 3, entryID: entry) }

    /// Chunk `index` of a message whose payload is `text`, cut into `count` near-equal slices.
    static func chunk(_ uuid: String, _ index: Int, of count: Int, text: String, entry: UInt64) -> Reassembler.Chunk {
        let bytes = Array(text.utf8)
        let size = (bytes.count + count - 1) / count
        let slice = bytes[min(bytes.count, index * size)..<min(bytes.count, (index + 1) * size)]
        return Reassembler.Chunk(uuid: uuid, chunkID: index, numChunks: count, totalSize: bytes.count, id: id(entry), payload: ByteBuffer(bytes: Array(slice)))
    }

    @Test func chunksInOrderMakeOneMessageWithEveryChunkID() {
        var reassembler = Reassembler(limits: Self.limits())
        let text = "0123456789abcdefghij"
        for index in 0..<3 {
            let outcome = reassembler.receive(Self.chunk("u", index, of: 3, text: text, entry: UInt64(10 + index)), now: t0)
            #expect(outcome.discarded.isEmpty)
            #expect((outcome.completed == nil) == (index < 2))
            if let completed = outcome.completed {
                #expect(String(buffer: completed.payload) == text)
                #expect(completed.chunkIDs == [Self.id(10), Self.id(11), Self.id(12)])
            }
        }
        #expect(reassembler.pendingMessages == 0)
        #expect(reassembler.pendingBytes == 0)
    }

    @Test func interleavedMessagesAreKeptApart() {
        var reassembler = Reassembler(limits: Self.limits())
        var completed: [String] = []
        let order = [("a", 0), ("b", 0), ("a", 1), ("b", 1)]
        for (entry, (uuid, index)) in order.enumerated() {
            if let message = reassembler.receive(Self.chunk(uuid, index, of: 2, text: "message-\(uuid)", entry: UInt64(entry)), now: t0).completed {
                completed.append(String(buffer: message.payload))
            }
        }
        #expect(completed == ["message-a", "message-b"])
    }

    @Test func anIncompleteMessageIsNeverCompleted() {
        var reassembler = Reassembler(limits: Self.limits())
        for index in 0..<4 {
            #expect(reassembler.receive(Self.chunk("u", index, of: 5, text: "abcdefghijklmnopqrst", entry: UInt64(index)), now: t0).completed == nil)
        }
        #expect(reassembler.pendingMessages == 1)
        reassembler.reset()
        #expect(reassembler.pendingMessages == 0 && reassembler.pendingBytes == 0)
        // After a reset the last chunk alone is an orphan: left for the broker to redeliver.
        let orphan = reassembler.receive(Self.chunk("u", 4, of: 5, text: "abcdefghijklmnopqrst", entry: 4), now: t0)
        #expect(orphan.completed == nil)
        #expect(orphan.discarded == [.init(uuid: "u", chunkIDs: [Self.id(4)], disposition: .leave, reason: .brokenSequence)])
    }

    @Test func aGapBreaksTheSequenceAndLeavesItsChunksForRedelivery() {
        var reassembler = Reassembler(limits: Self.limits())
        _ = reassembler.receive(Self.chunk("u", 0, of: 4, text: "abcdefgh", entry: 1), now: t0)
        let outcome = reassembler.receive(Self.chunk("u", 2, of: 4, text: "abcdefgh", entry: 3), now: t0)
        #expect(outcome.completed == nil)
        #expect(outcome.discarded == [.init(uuid: "u", chunkIDs: [Self.id(1), Self.id(3)], disposition: .leave, reason: .brokenSequence)])
        #expect(reassembler.pendingMessages == 0)
    }

    @Test func countsThatChangeMidMessageBreakTheSequence() {
        var reassembler = Reassembler(limits: Self.limits())
        _ = reassembler.receive(Self.chunk("u", 0, of: 3, text: "abcdefghi", entry: 1), now: t0)
        let outcome = reassembler.receive(Self.chunk("u", 1, of: 2, text: "abcdefghi", entry: 2), now: t0)
        #expect(outcome.discarded.map(\.reason) == [.brokenSequence])
        #expect(outcome.completed == nil)
    }

    @Test func aDuplicateChunkIsSkippedAndAcknowledgedOnlyWhenItIsAnotherEntry() {
        var reassembler = Reassembler(limits: Self.limits())
        let text = "abcdefghi"
        _ = reassembler.receive(Self.chunk("u", 0, of: 3, text: text, entry: 1), now: t0)
        _ = reassembler.receive(Self.chunk("u", 1, of: 3, text: text, entry: 2), now: t0)
        // The same entry again (broker redelivery): nothing to do.
        #expect(reassembler.receive(Self.chunk("u", 1, of: 3, text: text, entry: 2), now: t0).discarded.isEmpty)
        // A copy at another entry (a producer resend): acknowledged, it is not part of the message.
        let copy = reassembler.receive(Self.chunk("u", 1, of: 3, text: text, entry: 9), now: t0)
        #expect(copy.discarded == [.init(uuid: "u", chunkIDs: [Self.id(9)], disposition: .acknowledge, reason: .duplicate)])
        let last = reassembler.receive(Self.chunk("u", 2, of: 3, text: text, entry: 3), now: t0)
        #expect(last.completed.map { String(buffer: $0.payload) } == text)
        #expect(last.completed?.chunkIDs == [Self.id(1), Self.id(2), Self.id(3)])
    }

    @Test func aNewChunkZeroRestartsTheMessage() {
        var reassembler = Reassembler(limits: Self.limits())
        let text = "abcdef"
        _ = reassembler.receive(Self.chunk("u", 0, of: 2, text: text, entry: 1), now: t0)
        let restart = reassembler.receive(Self.chunk("u", 0, of: 2, text: text, entry: 5), now: t0)
        #expect(restart.discarded == [.init(uuid: "u", chunkIDs: [Self.id(1)], disposition: .acknowledge, reason: .superseded)])
        let done = reassembler.receive(Self.chunk("u", 1, of: 2, text: text, entry: 6), now: t0)
        #expect(done.completed?.chunkIDs == [Self.id(5), Self.id(6)])
        #expect(done.completed.map { String(buffer: $0.payload) } == text)
        // The same chunk 0 again is a redelivery: the held chunks are not acknowledged.
        _ = reassembler.receive(Self.chunk("v", 0, of: 2, text: text, entry: 7), now: t0)
        let redelivered = reassembler.receive(Self.chunk("v", 0, of: 2, text: text, entry: 7), now: t0)
        #expect(redelivered.discarded.map(\.disposition) == [.leave])
        #expect(reassembler.pendingMessages == 1)
    }

    @Test func theOldestIncompleteMessageMakesRoomWhenTooManyArePending() {
        var reassembler = Reassembler(limits: Self.limits(messages: 2))
        _ = reassembler.receive(Self.chunk("a", 0, of: 2, text: "aaaa", entry: 1), now: t0)
        _ = reassembler.receive(Self.chunk("b", 0, of: 2, text: "bbbb", entry: 2), now: t0)
        let third = reassembler.receive(Self.chunk("c", 0, of: 2, text: "cccc", entry: 3), now: t0)
        #expect(third.discarded == [.init(uuid: "a", chunkIDs: [Self.id(1)], disposition: .redeliver, reason: .tooManyPendingMessages)])
        #expect(reassembler.pendingMessages == 2)
        // "a" is gone: its second chunk is asked for again too, so "a" comes back whole.
        let orphan = reassembler.receive(Self.chunk("a", 1, of: 2, text: "aaaa", entry: 4), now: t0)
        #expect(orphan.discarded == [.init(uuid: "a", chunkIDs: [Self.id(4)], disposition: .redeliver, reason: .tooManyPendingMessages)])
        #expect(reassembler.receive(Self.chunk("b", 1, of: 2, text: "bbbb", entry: 5), now: t0).completed != nil)
        // Redelivered in order, "a" completes.
        _ = reassembler.receive(Self.chunk("a", 0, of: 2, text: "aaaa", entry: 1), now: t0)
        #expect(reassembler.receive(Self.chunk("a", 1, of: 2, text: "aaaa", entry: 4), now: t0).completed?.chunkIDs == [Self.id(1), Self.id(4)])
    }

    @Test func theByteLimitDropsTheOldestAndCanAcknowledgeIt() {
        var reassembler = Reassembler(limits: Self.limits(bytes: 10, acknowledge: true))
        _ = reassembler.receive(Self.chunk("a", 0, of: 2, text: "aaaaaa", entry: 1), now: t0)
        #expect(reassembler.pendingBytes == 6)
        let second = reassembler.receive(Self.chunk("b", 0, of: 2, text: "bbbbbb", entry: 2), now: t0)
        #expect(second.discarded == [.init(uuid: "a", chunkIDs: [Self.id(1)], disposition: .acknowledge, reason: .tooManyPendingBytes)])
        #expect(reassembler.pendingBytes == 6)
    }

    @Test func aMessageLargerThanTheByteLimitIsRefusedWithAllItsChunks() {
        var reassembler = Reassembler(limits: Self.limits(bytes: 10))
        let text = String(repeating: "z", count: 30)
        var reasons: [Reassembler.Reason] = []
        for index in 0..<3 {
            let outcome = reassembler.receive(Self.chunk("big", index, of: 3, text: text, entry: UInt64(index)), now: t0)
            #expect(outcome.completed == nil)
            reasons += outcome.discarded.map(\.reason)
            #expect(outcome.discarded.allSatisfy { $0.disposition == .leave })
        }
        #expect(reasons == [.messageTooLarge, .messageTooLarge, .messageTooLarge])
        #expect(reassembler.pendingBytes == 0)
    }

    @Test func incompleteMessagesExpireAndAreAcknowledged() {
        var reassembler = Reassembler(limits: Self.limits(expiry: .seconds(60)))
        _ = reassembler.receive(Self.chunk("old", 0, of: 2, text: "oooo", entry: 1), now: t0)
        _ = reassembler.receive(Self.chunk("new", 0, of: 2, text: "nnnn", entry: 2), now: t0 + .seconds(30))
        #expect(reassembler.expire(now: t0 + .seconds(59)).isEmpty)
        let outcome = reassembler.receive(Self.chunk("new", 1, of: 2, text: "nnnn", entry: 3), now: t0 + .seconds(60))
        #expect(outcome.discarded == [.init(uuid: "old", chunkIDs: [Self.id(1)], disposition: .acknowledge, reason: .expired)])
        #expect(outcome.completed.map { String(buffer: $0.payload) } == "nnnn")
        #expect(reassembler.pendingMessages == 0)
        // The rest of the expired message arriving late is acknowledged as well.
        let late = reassembler.receive(Self.chunk("old", 1, of: 2, text: "oooo", entry: 4), now: t0 + .seconds(61))
        #expect(late.discarded == [.init(uuid: "old", chunkIDs: [Self.id(4)], disposition: .acknowledge, reason: .expired)])
    }

    @Test func malformedChunkMetadataIsRefused() {
        var reassembler = Reassembler(limits: Self.limits())
        let bad = Reassembler.Chunk(uuid: "m", chunkID: 3, numChunks: 2, totalSize: 4, id: Self.id(1), payload: ByteBuffer(string: "ab"))
        #expect(reassembler.receive(bad, now: t0).discarded.map(\.reason) == [.malformed])
        // More bytes than total_chunk_msg_size announced: never delivered.
        let tooMany = Reassembler.Chunk(uuid: "m", chunkID: 0, numChunks: 2, totalSize: 1, id: Self.id(2), payload: ByteBuffer(string: "ab"))
        #expect(reassembler.receive(tooMany, now: t0).discarded.map(\.reason) == [.brokenSequence])
        #expect(reassembler.pendingBytes == 0)
    }
}
