import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import PulsarClient
import Testing

/// The whole system from outside: products created over HTTP come out of Pulsar as events,
/// exactly once each, with the ids the API returned — idempotent retries included.
@Suite(.enabled(if: EndToEndStack.shouldRun, "needs the local stack (scripts/test)"), .timeLimit(.minutes(5)))
struct APIToPulsarTests {
    struct Created: Decodable { let id: String }
    struct Event: Decodable {
        let event_id: String
        let event_type: String
        let aggregate_type: String
        let aggregate_id: String
    }

    @Test func everyCreatedProductArrivesOnceAsAnEvent() async throws {
        #expect(EndToEndStack.isAvailable, "OUTBOX_REQUIRE_STACK=1 but the stack environment is missing")
        guard EndToEndStack.isAvailable else { return }
        let tag = "e2e_\(UInt32.random(in: 0...UInt32.max))"
        let topic = "persistent://public/default/\(tag.replacingOccurrences(of: "_", with: "-"))"
        try EndToEndStack.psql("CREATE DATABASE \(tag) OWNER app")
        defer {
            _ = try? EndToEndStack.psql("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '\(tag)' AND NOT active")
            _ = try? EndToEndStack.psql("DROP DATABASE IF EXISTS \(tag) WITH (FORCE)")
        }

        let apiPort = EndToEndStack.freePort()
        let metricsPort = apiPort + 1
        let common = ["DATABASE_DATABASE": tag, "LOG_LEVEL": "warning"]
        let api = try DaemonProcess("products-api", arguments: ["serve"], environment: common.merging([
            "SERVER_HOST": "127.0.0.1", "SERVER_PORT": "\(apiPort)", "API_WORKER_ID": "3",
        ]) { _, new in new })
        let base = URL(string: "http://127.0.0.1:\(apiPort)")!
        try await EndToEndStack.waitUntilHealthy(base.appendingPathComponent("health/ready"), process: api)

        let relay = try DaemonProcess("cdc-relay", arguments: [], environment: common.merging([
            "RELAY_SLOT_NAME": tag, "PULSAR_TOPIC_NAME": topic, "RELAY_METRICS_PORT": "\(metricsPort)",
            "RELAY_REPLICATION_USERNAME": "outbox_relay",
        ]) { _, new in new })
        try await EndToEndStack.waitUntilHealthy(URL(string: "http://127.0.0.1:\(metricsPort)/health/live")!, process: relay)

        // 1,000 creates from 8 concurrent clients. Odd ones carry no key (the batched writer path),
        // even ones an Idempotency-Key (the pool path); every 10th is sent twice with its key.
        let productIDs = try await withThrowingTaskGroup(of: [String].self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var ids: [String] = []
                    for n in stride(from: worker, to: 1000, by: 8) {
                        let key = n % 2 == 0 ? "\(tag)-\(n)" : nil
                        let first = try await Self.create(base, key: key, n: n)
                        #expect(first.status == 201, "create \(n): \(first.status)")
                        if n % 10 == 0, let key {
                            let retry = try await Self.create(base, key: key, n: n)
                            #expect(retry.status == 201 || retry.status == 200)
                            #expect(retry.replayed)
                            #expect(retry.id == first.id, "a retried key must return the same product")
                        }
                        ids.append(first.id)
                    }
                    return ids
                }
            }
            var all: [String] = []
            for try await ids in group { all += ids }
            return all
        }
        #expect(Set(productIDs).count == 1000)
        // The 500 creates without a key all went through the create writers.
        let (metrics, _) = try await URLSession.shared.data(from: base.appendingPathComponent("metrics"))
        let batchSum = String(decoding: metrics, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("api_create_batch_size_sum ") }
        #expect(batchSum.flatMap { Double($0.split(separator: " ")[1]) } == 500, "\(batchSum ?? "no api_create_batch_size_sum")")
        #expect(try EndToEndStack.psql("SELECT count(*) FROM outbox", database: tag) == "1000")

        // Read the topic from the start; a Shared subscription delivers each message once.
        let client = PulsarClient(configuration: PulsarClientConfiguration(serviceURL: EndToEndStack.environment["PULSAR_URI"] ?? ""), logger: Logger(label: "e2e"))
        let consumer = try await client.subscribe(topic: topic, subscription: "e2e-check", options: ConsumerOptions(subscriptionType: .shared, initialPosition: .earliest))
        var events: [Event] = []
        let deadline = ContinuousClock.now + .seconds(120)
        while events.count < 1000, ContinuousClock.now < deadline {
            guard let message = try await Self.next(consumer, within: deadline - ContinuousClock.now) else { break }
            let event = try JSONDecoder().decode(Event.self, from: Data(message.payloadBytes))
            events.append(event)
            #expect(message.key == event.aggregate_id)
            #expect(message.properties["event_id"] == event.event_id)
            try await consumer.acknowledge(message.id)
        }
        #expect(events.count == 1000, "relay log:\n\(relay.logTail())")
        #expect(Set(events.map(\.event_id)).count == events.count)
        #expect(events.allSatisfy { $0.event_type == "product.created" && $0.aggregate_type == "product" })
        #expect(Set(events.map(\.aggregate_id)) == Set(productIDs))

        // SIGTERM drains and confirms; a restarted relay must then have nothing to resend.
        #expect(await relay.terminate() == 0, "relay did not exit 0 on SIGTERM:\n\(relay.logTail())")
        let restarted = try DaemonProcess("cdc-relay", arguments: [], environment: common.merging([
            "RELAY_SLOT_NAME": tag, "PULSAR_TOPIC_NAME": topic, "RELAY_METRICS_PORT": "\(metricsPort)",
            "RELAY_REPLICATION_USERNAME": "outbox_relay",
        ]) { _, new in new })
        try await EndToEndStack.waitUntilHealthy(URL(string: "http://127.0.0.1:\(metricsPort)/health/ready")!, process: restarted)
        let duplicate = try await Self.next(consumer, within: .seconds(3))
        #expect(duplicate == nil, "a restart after SIGTERM resent an event")
        #expect(await restarted.terminate() == 0)
        #expect(await api.terminate() == 0, "API did not exit 0 on SIGTERM:\n\(api.logTail())")
        try await consumer.close()
        await client.shutdown()
    }

    static func create(_ base: URL, key: String?, n: Int) async throws -> (status: Int, id: String, replayed: Bool) {
        var request = URLRequest(url: base.appendingPathComponent("products"))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let key { request.setValue(key, forHTTPHeaderField: "Idempotency-Key") }
        request.httpBody = Data(#"{"name":"Product \#(n)","description":"end to end","price":\#(n).25,"stock":\#(n),"category":"e2e"}"#.utf8)
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        let id = (try? JSONDecoder().decode(Created.self, from: data).id) ?? ""
        return (http?.statusCode ?? 0, id, http?.value(forHTTPHeaderField: "Idempotent-Replayed") == "true")
    }

    /// The next message, or nil if none arrives in time.
    static func next(_ consumer: PulsarConsumer, within timeout: Duration) async throws -> PulsarMessage? {
        try await withThrowingTaskGroup(of: PulsarMessage?.self) { group in
            group.addTask { try await consumer.receive() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
    }
}
