import Testing

@testable import CDCRelay

@Suite struct SequenceIDSchemeTests {
    @Test func idsOfConsecutiveCommitsNeverOverlap() throws {
        // Commit records are at least 40 bytes apart; use the tightest possible spacing.
        let first: UInt64 = 0x1_6B37_4D48
        let second = first + 40
        let lastOfFirst = try SequenceIDScheme.sequenceID(commitLSN: first, ordinal: SequenceIDScheme.guaranteedOrdinals - 1)
        let firstOfSecond = try SequenceIDScheme.sequenceID(commitLSN: second, ordinal: 0)
        #expect(lastOfFirst < firstOfSecond)
    }

    @Test func orderFollowsCommitThenOrdinal() throws {
        var previous: Int64 = -1
        for lsn in stride(from: UInt64(0x100_0000), to: 0x100_0000 + 4000, by: 40) {
            for ordinal in [Int64(0), 1, 2, 1000, 65_535] {
                let id = try SequenceIDScheme.sequenceID(commitLSN: lsn, ordinal: ordinal)
                #expect(id > previous)
                previous = id
            }
        }
    }

    @Test func isAPureFunction() throws {
        #expect(try SequenceIDScheme.sequenceID(commitLSN: 0x16B374D48, ordinal: 3) == (0x16B374D48 << 11) + 3)
    }

    @Test func rangeLimitIsEnforced() throws {
        let maximum = try SequenceIDScheme.sequenceID(commitLSN: SequenceIDScheme.maximumLSN, ordinal: 65_535)
        #expect(maximum > 0)
        #expect(throws: SequenceIDScheme.OutOfRange(commitLSN: SequenceIDScheme.maximumLSN + 1)) {
            try SequenceIDScheme.sequenceID(commitLSN: SequenceIDScheme.maximumLSN + 1, ordinal: 0)
        }
    }

    @Test func producerNameIsStablePerSlot() {
        #expect(SequenceIDScheme.producerName(slotName: "outbox_relay") == "outbox-relay-outbox_relay")
    }
}
