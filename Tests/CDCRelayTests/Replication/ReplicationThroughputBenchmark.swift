import Foundation
import Testing
@testable import CDCRelay
import TestSupport

/// Opt-in figure (REPL_BENCH=1, count in REPL_BENCH_TRANSACTIONS): how fast the libpq session
/// thread plus the pgoutput decoder deliver one-row outbox transactions. Prints; asserts only completeness.
@Suite(
    "replication throughput (opt-in benchmark)",
    .serialized,
    .enabled(if: StackEnvironment.isAvailable && ProcessInfo.processInfo.environment["REPL_BENCH"] == "1"),
    .timeLimit(.minutes(10))
)
struct ReplicationThroughputBenchmark {
    @Test(arguments: [false, true])
    func oneRowTransactions(binary: Bool) async throws {
        let transactions = Int(ProcessInfo.processInfo.environment["REPL_BENCH_TRANSACTIONS"] ?? "") ?? 50_000
        let fixture = try ReplicationFixture()
        var configuration = try fixture.configuration()
        configuration.binary = binary
        _ = try await fixture.bootstrap()

        // Explicit BEGIN/COMMIT pairs make every row its own transaction inside one query string.
        let payload = #"{"event_id": 1, "event_type": "product.created", "aggregate_type": "product", "aggregate_id": "p-1", "occurred_at": "2026-11-29T20:00:00Z", "data": {"name": "Ergonomic keyboard", "description": "A split mechanical keyboard with tenting kit", "price": 129.99, "stock": 42, "category": "peripherals"}}"#
        var id = 0
        while id < transactions {
            var sql = "SET synchronous_commit = off;"
            for _ in 0..<min(2_000, transactions - id) {
                id += 1
                sql += "BEGIN; INSERT INTO \(fixture.table) (id, aggregate_type, aggregate_id, event_type, payload) VALUES (\(id), 'product', 'p-\(id)', 'product.created', '\(payload)'); COMMIT;"
            }
            try SQL.run(sql)
        }

        let session = ReplicationSession(configuration: configuration, logger: ReplicationTestStack.logger)
        let started = ContinuousClock.now
        let stream = try await session.startReplication()
        var iterator = stream.makeAsyncIterator()
        var decoder = PGOutputDecoder(protocolVersion: 1)
        var commits = 0
        var inserts = 0
        var bytes = 0
        while commits < transactions, let message = try await iterator.next() {
            guard case .xLogData(let data) = message else { continue }
            bytes += data.data.readableBytes
            var payload = data.data
            switch try decoder.decode(&payload) {
            case .commit: commits += 1
            case .insert(let insert):
                inserts += 1
                _ = try insert.newTuple.columns[0].int64()
                _ = try insert.newTuple.columns[4].text()
            default: break
            }
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(String(
            format: "replication throughput (%@): %d transactions, %.1f MB pgoutput in %.2f s = %.0f tx/s",
            binary ? "binary" : "text", commits, Double(bytes) / 1_048_576, seconds, Double(commits) / seconds
        ))
        #expect(commits == transactions && inserts == transactions)
        await session.close()
        await fixture.cleanUp()
    }
}
