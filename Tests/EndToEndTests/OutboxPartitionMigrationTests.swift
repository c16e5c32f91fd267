import Foundation
import Testing

/// Migration 0027 on a live system: the unpartitioned outbox becomes the first partition of a
/// partitioned one while a relay streams. Old rows keep their ids and are not published again;
/// rows written after it are published once, under the table's own name.
@Suite(.enabled(if: EndToEndStack.shouldRun, "needs the local stack (scripts/test)"), .timeLimit(.minutes(5)))
struct OutboxPartitionMigrationTests {
    @Test func aRelayStreamingAcrossTheMigrationPublishesNoOldRowAgain() async throws {
        #expect(EndToEndStack.isAvailable, "OUTBOX_REQUIRE_STACK=1 but the stack environment is missing")
        guard EndToEndStack.isAvailable else { return }
        let scope = OutboxRetentionTests.Scope()
        try scope.create()
        defer { scope.drop() }

        // The schema as it was before 0027.
        let oldSQL = FileManager.default.temporaryDirectory.appendingPathComponent("sql-before-0027-\(scope.tag)")
        try FileManager.default.createDirectory(at: oldSQL, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: oldSQL) }
        let sqlDirectory = EndToEndStack.root.appendingPathComponent("sql")
        for file in try FileManager.default.contentsOfDirectory(atPath: sqlDirectory.path) where file.hasSuffix(".sql") && file < "0027" {
            try FileManager.default.copyItem(at: sqlDirectory.appendingPathComponent(file), to: oldSQL.appendingPathComponent(file))
        }
        let common = ["DATABASE_DATABASE": scope.tag, "LOG_LEVEL": "warning"]
        let before = try DaemonProcess("products-api", arguments: ["migrate"], environment: common.merging(["OUTBOX_MIGRATIONS_DIR": oldSQL.path]) { _, new in new })
        #expect(await before.waitForExit() == 0, "\(before.logTail())")
        #expect(try scope.sql("SELECT relkind FROM pg_class WHERE relname = 'outbox'") == "r")

        let relay = try await scope.relay()
        let (client, consumer, collector) = try await scope.collector()
        // 500 events written before the migration, with snowflake ids, streamed by the relay.
        try scope.sql("""
            INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload)
            SELECT ((floor(extract(epoch FROM clock_timestamp()) * 1000)::int8 - 1704067200000) << 22) + g,
                   'product', 'legacy-' || g, 'product.created', jsonb_build_object('n', g)
            FROM generate_series(1, 500) g
            """)
        let oldIDs = try scope.sql("SELECT string_agg(id::text, ',' ORDER BY id) FROM outbox")
        let legacy = await collector.wait(timeout: .seconds(60)) { $0.byEventID.count >= 500 }
        #expect(legacy.byEventID.count == 500, "relay:\n\(relay.logTail())")

        // The migration (and the API after it) while the relay keeps streaming.
        let migrate = try DaemonProcess("products-api", arguments: ["migrate"], environment: common)
        #expect(await migrate.waitForExit() == 0, "\(migrate.logTail())")
        #expect(try scope.sql("SELECT relkind FROM pg_class WHERE relname = 'outbox'") == "p")
        #expect(try scope.sql("SELECT string_agg(id::text, ',' ORDER BY id) FROM outbox") == oldIDs, "rows or ids changed")
        #expect(try scope.sql("SELECT count(*) FROM outbox_legacy") == "500")
        #expect(try scope.sql("SELECT pubviaroot FROM pg_publication WHERE pubname = 'outbox_pub'") == "t")
        #expect(try scope.sql("SELECT string_agg(tablename, ',') FROM pg_publication_tables WHERE pubname = 'outbox_pub'") == "outbox")

        let api = try await scope.api([:])
        var productIDs: Set<String> = []
        for n in 0..<200 {
            let created = try await APIToPulsarTests.create(scope.base, key: n % 2 == 0 ? "\(scope.tag)-\(n)" : nil, n: n)
            #expect(created.status == 201)
            productIDs.insert(created.id)
        }
        // The stream is in commit order: once the last new event is in, a republished old row
        // (it would come from the migration's transaction, earlier) would be in too.
        let all = await collector.wait(timeout: .seconds(60)) { productIDs.isSubset(of: $0.aggregateIDs) }
        #expect(productIDs.isSubset(of: all.aggregateIDs), "relay:\n\(relay.logTail())")
        #expect(all.byEventID.count == 700)
        #expect(all.duplicates == 0, "\(all.duplicates) events published again")
        #expect(relay.isRunning, "\(relay.logTail())")

        // The preflight still passes on the partitioned outbox.
        let check = try DaemonProcess("cdc-relay", arguments: ["check"], environment: common.merging([
            "RELAY_SLOT_NAME": scope.tag, "PULSAR_TOPIC_NAME": scope.topic, "RELAY_REPLICATION_USERNAME": "outbox_relay",
        ]) { _, new in new })
        #expect(await check.waitForExit() == 0, "\(check.logTail())")

        collector.stop()
        #expect(await relay.terminate() == 0)
        #expect(await api.terminate() == 0)

        // A second run of the migration's body changes nothing (the API, which adds partitions, is stopped).
        let partitions = "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'outbox'::regclass"
        let partitionsBefore = try scope.sql(partitions)
        let body = try String(contentsOf: sqlDirectory.appendingPathComponent("0027_outbox_partitioned.sql"), encoding: .utf8)
        try scope.sql("SET ROLE app; " + body)
        #expect(try scope.sql(partitions) == partitionsBefore)
        #expect(partitionsBefore.contains("outbox_legacy") && partitionsBefore.contains("outbox_default"))
        #expect(try scope.sql("SELECT count(*) FROM outbox") == "700")
        try? await consumer.close()
        await client.shutdown()
    }
}
