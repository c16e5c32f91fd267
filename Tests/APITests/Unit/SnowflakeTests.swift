import Synchronization
import Testing
@testable import API

@Suite struct SnowflakeTests {
    let epoch = SnowflakeID.epochMillisSince1970

    @Test func layoutPacksTimestampWorkerAndSequence() throws {
        var state = try SnowflakeState(workerID: 1023)
        let id = try state.next(nowMillisSince1970: epoch + 5)
        #expect(id.timestamp == 5)
        #expect(id.workerID == 1023)
        #expect(id.sequence == 0)
        #expect(id.rawValue == 5 << 22 | 1023 << 12)
        #expect(id.millisecondsSince1970 == epoch + 5)
    }

    @Test func sequenceCountsWithinOneMillisecondAndResetsOnTheNext() throws {
        var state = try SnowflakeState(workerID: 3)
        let a = try state.next(nowMillisSince1970: epoch + 100)
        let b = try state.next(nowMillisSince1970: epoch + 100)
        let c = try state.next(nowMillisSince1970: epoch + 101)
        #expect(a.sequence == 0 && b.sequence == 1 && c.sequence == 0)
        #expect(a < b && b < c)
        #expect(c.timestamp == 101)
    }

    @Test func clockSteppingBackKeepsTheLastTimestamp() throws {
        var state = try SnowflakeState(workerID: 0)
        let before = try state.next(nowMillisSince1970: epoch + 10_000)
        let afterStep = try state.next(nowMillisSince1970: epoch + 9_000)
        #expect(afterStep > before)
        #expect(afterStep.timestamp == 10_000)
        #expect(afterStep.sequence == 1)
        // When the clock catches up again, time moves on normally.
        let later = try state.next(nowMillisSince1970: epoch + 10_001)
        #expect(later.timestamp == 10_001 && later.sequence == 0)
    }

    @Test func sequenceOverflowAdvancesToTheNextMillisecond() throws {
        var state = try SnowflakeState(workerID: 9)
        var ids: [SnowflakeID] = []
        for _ in 0..<(4096 + 3) { ids.append(try state.next(nowMillisSince1970: epoch + 500)) }
        #expect(ids[4095].timestamp == 500 && ids[4095].sequence == 4095)
        #expect(ids[4096].timestamp == 501 && ids[4096].sequence == 0)
        #expect(ids[4098].timestamp == 501 && ids[4098].sequence == 2)
        #expect(Set(ids).count == ids.count)
        #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 })
        // The real clock reaching 501 continues after the borrowed ids.
        let next = try state.next(nowMillisSince1970: epoch + 501)
        #expect(next > ids[4098])
    }

    @Test func rejectsOutOfRangeWorkerIDs() {
        #expect(throws: SnowflakeError.self) { try SnowflakeState(workerID: 1024) }
        #expect(throws: SnowflakeError.self) { try SnowflakeState(workerID: -1) }
    }

    @Test func rejectsClockBeforeEpoch() throws {
        var state = try SnowflakeState(workerID: 0)
        #expect(throws: SnowflakeError(code: .clockBeforeEpoch, value: epoch - 1)) {
            try state.next(nowMillisSince1970: epoch - 1)
        }
    }

    @Test func generatorIsUniqueAndOrderedAcrossThreads() async throws {
        // A frozen clock forces sequence overflow while many tasks race.
        let generator = try SnowflakeGenerator(workerID: 42, clock: { SnowflakeID.epochMillisSince1970 + 1_000 })
        let ids = try await withThrowingTaskGroup(of: [SnowflakeID].self) { group in
            for _ in 0..<8 {
                group.addTask { try (0..<2_000).map { _ in try generator.next() } }
            }
            var all: [SnowflakeID] = []
            for try await chunk in group {
                #expect(zip(chunk, chunk.dropFirst()).allSatisfy { $0 < $1 })
                all += chunk
            }
            return all
        }
        #expect(ids.count == 16_000)
        #expect(Set(ids).count == 16_000)
        #expect(ids.allSatisfy { $0.workerID == 42 })
    }
}
