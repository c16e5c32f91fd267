import TestSupport
import Synchronization
import Testing
@testable import API

/// The batcher's hand-offs, with a scripted statement runner instead of a database.
@Suite struct CreateBatcherTests {
    static func parameters(_ index: Int64) throws -> CreateProductParameters {
        let price = try #require(Price(cents: 100))
        let product = Product(
            id: SnowflakeID(rawValue: 1000 + index), name: "p\(index)", description: nil, price: price, stock: 1,
            category: nil, createdAtMillis: 0, updatedAtMillis: 0
        )
        return CreateProductParameters(product: product, eventID: SnowflakeID(rawValue: 2000 + index), payload: "{}", headers: "{}", createdAtText: "")
    }

    /// A request cancelled while queued that then leads a batch runs the statement outside its
    /// own cancellation, so the others in the batch get the statement's real outcome.
    @Test func aCancelledLeaderRunsItsBatchUncancelled() async throws {
        let batcher = CreateBatcher(maximumBatchSize: 10, maximumConcurrentBatches: 1)
        let (gate, open) = AsyncStream<Void>.makeStream()
        let calls = Mutex<[(count: Int, cancelled: Bool)]>([])
        let execute: @Sendable ([CreateProductParameters]) async -> [CreateBatcher.Outcome] = { items in
            let isFirst = calls.withLock { calls in
                calls.append((items.count, Task.isCancelled))
                return calls.count == 1
            }
            if isFirst { for await _ in gate { break } }  // the first statement is "slow"
            return Array(repeating: .success(()), count: items.count)
        }
        let first = Task { await batcher.create(try Self.parameters(0), execute: execute) }
        #expect(await waitUntil(timeout: .seconds(5)) { batcher.runningBatches == 1 && calls.withLock { $0.count } == 1 })
        let leader = Task { await batcher.create(try Self.parameters(1), execute: execute) }
        #expect(await waitUntil(timeout: .seconds(5)) { batcher.queuedCount == 1 })
        let followers = [Task { await batcher.create(try Self.parameters(2), execute: execute) },
                         Task { await batcher.create(try Self.parameters(3), execute: execute) }]
        #expect(await waitUntil(timeout: .seconds(5)) { batcher.queuedCount == 3 })
        leader.cancel()
        open.yield(())

        #expect(try await first.value.get() == ())
        for follower in followers { #expect(try await follower.value.get() == ()) }
        _ = await leader.result
        let recorded = calls.withLock { $0 }
        #expect(recorded.map(\.count) == [1, 3])
        #expect(recorded.last?.cancelled == false, "the batch ran inside the cancelled leader")
        #expect(batcher.runningBatches == 0 && batcher.queuedCount == 0)
    }

}
