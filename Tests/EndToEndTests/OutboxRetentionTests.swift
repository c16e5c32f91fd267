import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import PulsarClient
import Testing

/// The outbox's retention with the real daemons: partitions dropped under load while every event
/// still reaches the broker, the acknowledged-progress rule, and `outbox.retention` 0.
@Suite(.enabled(if: EndToEndStack.shouldRun, "needs the local stack (scripts/test)"), .serialized, .timeLimit(.minutes(8)))
struct OutboxRetentionTests {
    /// One database, topic and slot per test, removed afterwards.
    struct Scope {
        let tag = "ret_\(UInt32.random(in: 0...UInt32.max))"
        var topic: String { "persistent://public/default/\(tag.replacingOccurrences(of: "_", with: "-"))" }
        let apiPort = EndToEndStack.freePort()
        var base: URL { URL(string: "http://127.0.0.1:\(apiPort)")! }

        func create() throws { try EndToEndStack.psql("CREATE DATABASE \(tag) OWNER app") }

        func drop() {
            _ = try? EndToEndStack.psql("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '\(tag)' AND NOT active")
            _ = try? EndToEndStack.psql("DROP DATABASE IF EXISTS \(tag) WITH (FORCE)")
        }

        func sql(_ text: String) throws -> String { try EndToEndStack.psql(text, database: tag) }

        func api(_ environment: [String: String]) async throws -> DaemonProcess {
            let api = try DaemonProcess("products-api", arguments: ["serve"], environment: [
                "DATABASE_DATABASE": tag, "LOG_LEVEL": "info", "SERVER_HOST": "127.0.0.1", "SERVER_PORT": "\(apiPort)", "API_WORKER_ID": "5",
            ].merging(environment) { _, new in new })
            try await EndToEndStack.waitUntilHealthy(base.appendingPathComponent("health/ready"), process: api)
            return api
        }

        func relay() async throws -> DaemonProcess {
            let metricsPort = apiPort + 1
            let relay = try DaemonProcess("cdc-relay", arguments: [], environment: [
                "DATABASE_DATABASE": tag, "LOG_LEVEL": "warning", "RELAY_SLOT_NAME": tag, "PULSAR_TOPIC_NAME": topic,
                "RELAY_METRICS_PORT": "\(metricsPort)", "RELAY_REPLICATION_USERNAME": "outbox_relay",
            ])
            try await EndToEndStack.waitUntilHealthy(URL(string: "http://127.0.0.1:\(metricsPort)/health/ready")!, process: relay)
            return relay
        }

        func collector() async throws -> (PulsarClient, PulsarConsumer, OutboxEventCollector) {
            let client = PulsarClient(configuration: PulsarClientConfiguration(serviceURL: EndToEndStack.environment["PULSAR_URI"] ?? ""), logger: Logger(label: "retention-test"))
            let consumer = try await client.subscribe(topic: topic, subscription: "retention-check", options: ConsumerOptions(subscriptionType: .shared, initialPosition: .earliest))
            return (client, consumer, OutboxEventCollector(consumer: consumer))
        }

        /// One value of the API's /metrics (first series with that name).
        func metric(_ name: String) async throws -> Double? {
            let (data, _) = try await URLSession.shared.data(from: base.appendingPathComponent("metrics"))
            return String(decoding: data, as: UTF8.self).split(separator: "\n")
                .first { $0.hasPrefix(name + " ") }
                .flatMap { Double($0.split(separator: " ")[1]) }
        }

        func waitForMetric(_ name: String, timeout: Duration = .seconds(30), _ condition: (Double) -> Bool) async throws -> Double? {
            let deadline = ContinuousClock.now + timeout
            var last: Double?
            while ContinuousClock.now < deadline {
                last = try await metric(name)
                if let last, condition(last) { return last }
                try await Task.sleep(for: .milliseconds(200))
            }
            return last
        }
    }

    /// Outbox size: (partitions, exact rows, bytes of all partitions, dead tuples).
    static let sizeQuery = """
        SELECT (SELECT count(*) FROM pg_inherits WHERE inhparent = 'outbox'::regclass) || '|' ||
               (SELECT count(*) FROM outbox) || '|' ||
               (SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits WHERE inhparent = 'outbox'::regclass) || '|' ||
               (SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables s JOIN pg_inherits i ON i.inhrelid = s.relid WHERE i.inhparent = 'outbox'::regclass)
        """

    @Test func continuousLoadWithShortRetentionStaysBoundedAndLosesNothing() async throws {
        #expect(EndToEndStack.isAvailable, "OUTBOX_REQUIRE_STACK=1 but the stack environment is missing")
        guard EndToEndStack.isAvailable else { return }
        let scope = Scope()
        try scope.create()
        defer { scope.drop() }
        let retention = 5.0, margin = 2.0, interval = 2.0
        let loadSeconds = Double(EndToEndStack.environment["OUTBOX_RETENTION_LOAD_SECONDS"] ?? "") ?? 60
        let api = try await scope.api([
            "OUTBOX_RETENTION": "5s", "OUTBOX_RETENTION_MARGIN": "2s", "OUTBOX_PARTITION_INTERVAL": "2s",
        ])
        let relay = try await scope.relay()
        let (client, consumer, collector) = try await scope.collector()

        // Stands in for the relay's progress recording: the commit time of the newest event the
        // topic delivered (its snowflake time, never later than its commit) as acked_commit_time.
        let progress = Task {
            while !Task.isCancelled {
                let newest = collector.snapshot.maxEventID
                if newest > 0 {
                    let millis = (newest >> 22) + 1_704_067_200_000
                    _ = try? scope.sql("UPDATE outbox_relay_slots SET acked_commit_time = to_timestamp(\(millis) / 1000.0), progress_at = now() WHERE slot_name = '\(scope.tag)'")
                }
                try await Task.sleep(for: .seconds(1))
            }
        }
        defer { progress.cancel() }

        let started = ContinuousClock.now
        let stopAt = started + .seconds(loadSeconds)
        // Time series of the outbox's size while the load runs.
        let sampler = Task { () -> [(Double, [Int64])] in
            var series: [(Double, [Int64])] = []
            while ContinuousClock.now < stopAt + .seconds(10) {
                let t = Double((ContinuousClock.now - started).components.seconds)
                if let line = try? scope.sql(Self.sizeQuery) {
                    series.append((t, line.split(separator: "|").compactMap { Int64($0) }))
                }
                try await Task.sleep(for: .seconds(2))
            }
            return series
        }

        // Eight clients; every fifth create carries an Idempotency-Key (the pool path).
        let productIDs = try await withThrowingTaskGroup(of: [String].self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var ids: [String] = []
                    var n = worker
                    while ContinuousClock.now < stopAt {
                        let key = n % 5 == 0 ? "\(scope.tag)-\(n)" : nil
                        let created = try await APIToPulsarTests.create(scope.base, key: key, n: n)
                        #expect(created.status == 201, "create \(n): \(created.status)")
                        if created.status == 201 { ids.append(created.id) }
                        n += 8
                    }
                    return ids
                }
            }
            var all: [String] = []
            for try await ids in group { all += ids }
            return all
        }
        let loadDuration = (ContinuousClock.now - started)
        let rate = Double(productIDs.count) / (Double(loadDuration.components.seconds) + 1e-9)

        let expected = Set(productIDs)
        let arrived = await collector.wait(timeout: .seconds(120)) { expected.isSubset(of: $0.aggregateIDs) }
        let series = try await sampler.value
        let dropped = try await scope.metric("outbox_partitions_dropped_total") ?? 0

        print("outbox retention under load: \(productIDs.count) creates in \(loadDuration) (\(Int(rate))/s), retention \(retention)s, margin \(margin)s, partitions of \(interval)s")
        print("t_s partitions rows bytes dead_tuples")
        for (t, values) in series { print("\(Int(t)) " + values.map(String.init).joined(separator: " ")) }
        print("partitions dropped: \(Int(dropped)); events on the topic: \(arrived.byEventID.count), duplicates \(arrived.duplicates)")

        #expect(expected.isSubset(of: arrived.aggregateIDs), "\(expected.subtracting(arrived.aggregateIDs).count) events missing; relay:\n\(relay.logTail())")
        #expect(arrived.byEventID.count == expected.count)
        #expect(arrived.duplicates == 0)
        #expect(dropped >= loadSeconds / interval / 2, "only \(dropped) partitions dropped; api:\n\(api.logTail())")
        // Rows kept: those newer than min(now - retention, acked - margin), plus up to one
        // partition, one round and the acknowledgement lag; 20 s of load is a loose ceiling.
        let bound = Int64(rate * 20) + 1_000
        let maxRows = series.map { $0.1.count > 1 ? $0.1[1] : 0 }.max() ?? 0
        #expect(maxRows <= bound, "outbox reached \(maxRows) rows, bound \(bound)")
        // Bounded, not merely slow-growing: the second half of the run never exceeds the first by much.
        let half = series.count / 2
        let firstHalfMax = series.prefix(half).map { $0.1.count > 1 ? $0.1[1] : 0 }.max() ?? 0
        let secondHalfMax = series.dropFirst(half).map { $0.1.count > 1 ? $0.1[1] : 0 }.max() ?? 0
        #expect(secondHalfMax <= firstHalfMax * 2 + 1_000, "rows grew: first half max \(firstHalfMax), second \(secondHalfMax)")
        // Retention drops partitions: no deletes, so no dead tuples from it.
        let maxDead = series.map { $0.1.count > 3 ? $0.1[3] : 0 }.max() ?? 0
        #expect(maxDead <= 100, "dead tuples in the outbox: \(maxDead)")
        #expect(series.allSatisfy { $0.1.count == 4 && $0.1[0] <= Int64(retention / interval) + 12 }, "partitions not bounded: \(series.map { $0.1.first ?? -1 })")

        collector.stop()
        #expect(await relay.terminate() == 0)
        #expect(await api.terminate() == 0, "API did not exit 0:\n\(api.logTail())")
        try? await consumer.close()
        await client.shutdown()
    }

    @Test func rowsNewerThanTheAcknowledgedTimeMinusTheMarginAreKept() async throws {
        #expect(EndToEndStack.isAvailable, "OUTBOX_REQUIRE_STACK=1 but the stack environment is missing")
        guard EndToEndStack.isAvailable else { return }
        let scope = Scope()
        try scope.create()
        defer { scope.drop() }
        let api = try await scope.api(["OUTBOX_RETENTION": "1s", "OUTBOX_RETENTION_MARGIN": "30s", "OUTBOX_PARTITION_INTERVAL": "1s"])
        for n in 0..<40 {
            #expect(try await APIToPulsarTests.create(scope.base, key: n % 2 == 0 ? "\(scope.tag)-\(n)" : nil, n: n).status == 201)
        }
        #expect(try scope.sql("SELECT count(*) FROM outbox") == "40")

        // No slot row: nothing is dropped, and the gauge says why.
        #expect(try await scope.waitForMetric("outbox_retention_blocked") { $0 == 1 } == 1)
        #expect(try await scope.waitForMetric("outbox_oldest_row_age_seconds") { $0 >= 3 } ?? 0 >= 3)
        #expect(try scope.sql("SELECT count(*) FROM outbox") == "40", "rows dropped without acknowledged progress")

        // A slot that never acknowledged (acked_commit_time NULL) blocks as well.
        try scope.sql("INSERT INTO outbox_relay_slots (slot_name, system_identifier, database, created_lsn) VALUES ('a', '1', '\(scope.tag)', '0/0'), ('b', '1', '\(scope.tag)', '0/0')")
        try scope.sql("UPDATE outbox_relay_slots SET acked_commit_time = now() + interval '1 hour' WHERE slot_name = 'a'")
        let roundsBefore = try await scope.metric("outbox_partitions_created_total") ?? 0
        #expect(try await scope.waitForMetric("outbox_partitions_created_total") { $0 >= roundsBefore + 3 } ?? 0 >= roundsBefore + 3)
        #expect(try await scope.metric("outbox_retention_blocked") == 1)
        #expect(try scope.sql("SELECT count(*) FROM outbox") == "40")

        // Slot b acknowledged just now: its margin (30 s) keeps the rows, though retention (1 s) has passed.
        try scope.sql("UPDATE outbox_relay_slots SET acked_commit_time = now() WHERE slot_name = 'b'")
        #expect(try await scope.waitForMetric("outbox_retention_blocked") { $0 == 0 } == 0)
        let created = try await scope.metric("outbox_partitions_created_total") ?? 0
        #expect(try await scope.waitForMetric("outbox_partitions_created_total") { $0 >= created + 3 } ?? 0 >= created + 3)
        #expect(try scope.sql("SELECT count(*) FROM outbox") == "40", "rows newer than acked_commit_time - margin were dropped")

        // Both slots acknowledged well past the rows (plus the margin): their partitions go.
        try scope.sql("UPDATE outbox_relay_slots SET acked_commit_time = now() + interval '1 minute'")
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, try scope.sql("SELECT count(*) FROM outbox") != "0" {
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(try scope.sql("SELECT count(*) FROM outbox") == "0")
        #expect(try await scope.metric("outbox_partitions_dropped_total") ?? 0 >= 1)
        #expect(try scope.sql("SELECT count(*) FROM products") == "40")
        #expect(await api.terminate() == 0)
    }

    @Test func retentionZeroPublishesEveryEventAndLeavesTheTableEmpty() async throws {
        #expect(EndToEndStack.isAvailable, "OUTBOX_REQUIRE_STACK=1 but the stack environment is missing")
        guard EndToEndStack.isAvailable else { return }
        let scope = Scope()
        try scope.create()
        defer { scope.drop() }
        let api = try await scope.api(["OUTBOX_RETENTION": "0"])
        let relay = try await scope.relay()
        let (client, consumer, collector) = try await scope.collector()

        // Odd creates without a key (the batched writers), even ones with a key (the pool).
        let productIDs = try await withThrowingTaskGroup(of: [String].self) { group in
            for worker in 0..<6 {
                group.addTask {
                    var ids: [String] = []
                    for n in stride(from: worker, to: 300, by: 6) {
                        let created = try await APIToPulsarTests.create(scope.base, key: n % 2 == 0 ? "\(scope.tag)-\(n)" : nil, n: n)
                        #expect(created.status == 201)
                        ids.append(created.id)
                        #expect(try scope.sql("SELECT count(*) FROM outbox") == "0")
                    }
                    return ids
                }
            }
            var all: [String] = []
            for try await ids in group { all += ids }
            return all
        }
        let expected = Set(productIDs)
        let arrived = await collector.wait(timeout: .seconds(60)) { expected.isSubset(of: $0.aggregateIDs) }
        #expect(expected.count == 300)
        #expect(expected.isSubset(of: arrived.aggregateIDs), "relay:\n\(relay.logTail())")
        #expect(arrived.byEventID.count == 300 && arrived.duplicates == 0)
        #expect(try scope.sql("SELECT count(*) FROM outbox") == "0")
        #expect(try scope.sql("SELECT count(*) FROM products") == "300")

        collector.stop()
        #expect(await relay.terminate() == 0)
        #expect(await api.terminate() == 0)
        try? await consumer.close()
        await client.shutdown()
    }
}
