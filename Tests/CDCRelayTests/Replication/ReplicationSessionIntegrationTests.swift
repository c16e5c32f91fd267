import Foundation
import NIOCore
import Testing
@testable import CDCRelay
import TestSupport

@Suite("replication session against the local stack", .enabled(if: StackEnvironment.shouldRun), .timeLimit(.minutes(2)))
struct ReplicationSessionIntegrationTests {
    @Test func streamsRealWALInCommitOrderAndConfirms() async throws {
        let fixture = try ReplicationFixture()
        let session = ReplicationSession(configuration: try fixture.configuration(), logger: ReplicationTestStack.logger)
        do {
            let outcome = try await fixture.bootstrap()
            #expect(outcome.decision == .create)
            #expect(outcome.createdPublication)

            let identity = try await session.identifySystem()
            #expect(identity.database == "app")
            #expect(identity.timeline >= 1)
            #expect(!identity.systemID.isEmpty)

            let stream = try await session.startReplication()
            try fixture.insert([1])
            try fixture.insert([2, 3])

            var iterator = stream.makeAsyncIterator()
            var decoder = PGOutputDecoder(protocolVersion: 1)
            let messages = try await collectTransactions(commits: 2, from: &iterator, decoder: &decoder)

            // Begin, Relation (first use on this walsender), Insert, Commit; then Begin, Insert, Insert, Commit.
            guard messages.count == 8,
                  case .begin(let begin1) = messages[0], case .relation(let relation) = messages[1],
                  case .insert(let insert1) = messages[2], case .commit(let commit1) = messages[3],
                  case .begin(let begin2) = messages[4], case .insert(let insert2) = messages[5],
                  case .insert(let insert3) = messages[6], case .commit(let commit2) = messages[7]
            else {
                Issue.record("unexpected message sequence: \(messages)")
                await session.close()
                await fixture.cleanUp()
                return
            }
            #expect(relation.name == fixture.table)
            #expect(relation.namespace == "public")
            #expect(relation.columns.map(\.name) == ["id", "aggregate_type", "aggregate_id", "event_type", "payload", "headers", "created_at"])
            #expect(relation.columns[0].isKey && relation.columns[0].typeOID == 20)
            #expect(relation.columns[4].typeOID == 3802)
            #expect([insert1, insert2, insert3].allSatisfy { $0.relationOID == relation.oid && $0.xid == nil })
            #expect(try [insert1, insert2, insert3].map { try $0.newTuple.columns[0].int64() } == [1, 2, 3])
            #expect(try insert2.newTuple.columns[1].text() == "product")
            #expect(try insert1.newTuple.columns[4].text() == #"{"name": "p", "event_id": 1}"#)
            #expect(try OutboxTimestamp(postgresText: insert1.newTuple.columns[6].text()).microsecondsSinceEpoch > 1_700_000_000_000_000)
            #expect(begin1.finalLSN == commit1.commitLSN && begin2.finalLSN == commit2.commitLSN)
            #expect(commit1.commitLSN < commit1.endLSN)
            #expect(commit1.endLSN <= commit2.commitLSN)
            #expect(commit1.endLSN < commit2.endLSN)
            #expect(begin1.xid != begin2.xid)

            // Confirming the first transaction moves the slot exactly there.
            try session.sendStatus(StandbyStatusUpdate(confirming: commit1.endLSN))
            #expect(try await fixture.waitForConfirmedFlush(commit1.endLSN))
            try session.sendStatus(StandbyStatusUpdate(confirming: commit2.endLSN))
            #expect(try await fixture.waitForConfirmedFlush(commit2.endLSN))

            // A second reader of the same slot is refused with a typed error.
            let second = ReplicationSession(configuration: try fixture.configuration(), logger: ReplicationTestStack.logger)
            let busy = await #expect(throws: ReplicationError.self) { _ = try await second.startReplication() }
            #expect(busy?.code == .slotBusy)
            #expect(busy?.sqlState == "55006")
            await second.close()

            // close() ends the stream cleanly.
            await session.close()
            var leftovers: [ReplicationMessage] = []
            while let message = try await iterator.next() { leftovers.append(message) }
            // Only what was already buffered (keepalives) can follow, then the stream ends without error.
            #expect(leftovers.allSatisfy { if case .keepalive = $0 { true } else { false } })
            #expect(throws: ReplicationError.self) { try session.sendStatus(StandbyStatusUpdate(confirming: commit2.endLSN)) }

            // Streaming again resumes after the confirmed position: nothing is replayed.
            let again = ReplicationSession(configuration: try fixture.configuration(), logger: ReplicationTestStack.logger)
            let resumed = try await startWhenSlotIsFree(again)
            try fixture.insert([4])
            var resumedIterator = resumed.makeAsyncIterator()
            var freshDecoder = PGOutputDecoder(protocolVersion: 1)
            let replay = try await collectTransactions(commits: 1, from: &resumedIterator, decoder: &freshDecoder)
            let ids = try replay.compactMap { message -> Int64? in
                guard case .insert(let insert) = message else { return nil }
                return try insert.newTuple.columns[0].int64()
            }
            #expect(ids == [4])
            await again.close()
        } catch {
            await session.close()
            await fixture.cleanUp()
            throw error
        }
        await fixture.cleanUp()
    }

    @Test func slowConsumerPausesReadingButStatusStillFlows() async throws {
        let fixture = try ReplicationFixture()
        let session = ReplicationSession(
            configuration: try fixture.configuration(applicationName: fixture.name), logger: ReplicationTestStack.logger, bufferCapacity: 4)
        do {
            _ = try await fixture.bootstrap()
            let stream = try await session.startReplication()
            let transactions = 60
            for id in 1...transactions { try fixture.insert([Int64(id)]) }
            // Nobody reads until the walsender has sent all of it: the session thread must stop at
            // the bound (the rest waits in the socket), not buffer everything.
            let written = try SQL.currentWALLSN()
            #expect(try await waitUntil(timeout: .seconds(10)) {
                SQL.lsn(try SQL.run("SELECT sent_lsn FROM pg_stat_replication WHERE application_name = '\(fixture.name)'")) ?? 0 >= written
            })

            var iterator = stream.makeAsyncIterator()
            var decoder = PGOutputDecoder(protocolVersion: 1)
            let first = try await collectTransactions(commits: 1, from: &iterator, decoder: &decoder)
            let firstCommit = try #require(first.last.flatMap { message -> CommitMessage? in
                if case .commit(let commit) = message { return commit }
                return nil
            })
            // The consumer is now stalled again with a full buffer; the update must still go out.
            try session.sendStatus(StandbyStatusUpdate(confirming: firstCommit.endLSN))
            #expect(try await fixture.waitForConfirmedFlush(firstCommit.endLSN))

            let rest = try await collectTransactions(commits: transactions - 1, from: &iterator, decoder: &decoder)
            let ids = try (first + rest).compactMap { message -> Int64? in
                guard case .insert(let insert) = message else { return nil }
                return try insert.newTuple.columns[0].int64()
            }
            #expect(ids == (1...Int64(transactions)).map { $0 })
            let ends = (first + rest).compactMap { message -> LSN? in
                guard case .commit(let commit) = message else { return nil }
                return commit.endLSN
            }
            #expect(ends == ends.sorted() && Set(ends).count == transactions)
            await session.close()
        } catch {
            await session.close()
            await fixture.cleanUp()
            throw error
        }
        await fixture.cleanUp()
    }

    @Test func killedWalsenderEndsTheStreamWithATypedError() async throws {
        let fixture = try ReplicationFixture()
        let application = "repl-kill-" + fixture.name
        let session = ReplicationSession(configuration: try fixture.configuration(applicationName: application), logger: ReplicationTestStack.logger)
        do {
            _ = try await fixture.bootstrap()
            let stream = try await session.startReplication()
            try SQL.run("SELECT pg_terminate_backend(pid) FROM pg_stat_replication WHERE application_name = '\(application)'")
            var iterator = stream.makeAsyncIterator()
            let error = await #expect(throws: ReplicationError.self) {
                while try await iterator.next() != nil {}
            }
            #expect(error.map { [.connectionLost, .copyEnded].contains($0.code) } == true, "\(String(describing: error))")
            // Status updates after the failure report it instead of vanishing.
            #expect(throws: ReplicationError.self) { try session.sendStatus(StandbyStatusUpdate(confirming: LSN(1))) }
            await session.close()
        } catch {
            await session.close()
            await fixture.cleanUp()
            throw error
        }
        await fixture.cleanUp()
    }

    @Test func unreachableServerIsATypedConnectionError() async throws {
        var configuration = try ReplicationTestStack.configuration(slot: "none", publication: "none")
        configuration.port = 1  // nothing listens there
        let session = ReplicationSession(configuration: configuration, logger: ReplicationTestStack.logger)
        let error = await #expect(throws: ReplicationError.self) { _ = try await session.identifySystem() }
        #expect(error?.code == .connectionFailed)
        await session.close()
        let closed = await #expect(throws: ReplicationError.self) { _ = try await session.identifySystem() }
        #expect(closed?.code == .sessionClosed)
    }

    /// The previous walsender may hold the slot for a moment after close().
    private func startWhenSlotIsFree(_ session: ReplicationSession) async throws -> ReplicationStream {
        for _ in 0..<50 {
            do {
                return try await session.startReplication()
            } catch let error as ReplicationError where error.code == .slotBusy {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        return try await session.startReplication()
    }
}
