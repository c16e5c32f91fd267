import TestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Both daemons run at `trace` with a known database password and Pulsar token (the stack trusts
/// local connections and the broker accepts any token, so both are really sent): neither string
/// may appear in any log line, any `/metrics` or `/health` output, or any error response.
@Suite(.enabled(if: StackEnvironment.shouldRun, "needs the local stack (scripts/test)"), .timeLimit(.minutes(3)))
struct SecretsScanTests {
    static func get(_ url: URL) async throws -> String {
        let (data, _) = try await URLSession.shared.data(from: url)
        return String(decoding: data, as: UTF8.self)
    }

    static func post(_ url: URL, body: String, headers: [String: String] = ["Content-Type": "application/json"]) async throws -> (Int, String) {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    @Test func passwordAndTokenAppearInNoLogMetricsOrErrorResponse() async throws {
        #expect(StackEnvironment.isAvailable, "OUTBOX_REQUIRE_STACK=1 but the stack environment is missing")
        guard StackEnvironment.isAvailable else { return }
        let tag = "sec_\(UInt32.random(in: 0...UInt32.max))"
        let password = "pw-\(UUID().uuidString)"
        let token = "tok-\(UUID().uuidString)"
        try SQL.run("CREATE DATABASE \(tag) OWNER app")
        defer {
            _ = try? SQL.run("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '\(tag)' AND NOT active")
            _ = try? SQL.run("DROP DATABASE IF EXISTS \(tag) WITH (FORCE)")
        }
        let apiPort = try freePort()
        let metricsPort = try freePort()
        let common = ["DATABASE_DATABASE": tag, "LOG_LEVEL": "trace", "DB_PASSWORD": password, "PULSAR_TOKEN": token]
        let api = try DaemonProcess("products-api", arguments: ["serve"], environment: common.merging([
            "SERVER_HOST": "127.0.0.1", "SERVER_PORT": "\(apiPort)",
        ]) { _, new in new })
        let base = try #require(URL(string: "http://127.0.0.1:\(apiPort)"))
        try await EndToEndStack.waitUntilHealthy(base.appendingPathComponent("health/ready"), process: api)
        let relay = try DaemonProcess("cdc-relay", arguments: [], environment: common.merging([
            "RELAY_SLOT_NAME": tag, "PULSAR_TOPIC_NAME": "persistent://public/default/\(tag)", "RELAY_METRICS_PORT": "\(metricsPort)",
            "RELAY_REPLICATION_USERNAME": "outbox_relay",
        ]) { _, new in new })
        let relayBase = try #require(URL(string: "http://127.0.0.1:\(metricsPort)"))
        try await EndToEndStack.waitUntilHealthy(relayBase.appendingPathComponent("health/ready"), process: relay)

        var outputs: [String] = []
        let products = base.appendingPathComponent("products")
        let (created, createdBody) = try await Self.post(products, body: #"{"name":"secret scan","price":1,"stock":1}"#)
        #expect(created == 201)
        outputs.append(createdBody)
        for body in [#"{"name":"#, #"{"name":"","price":-1,"stock":1}"#, #"{"name":"a\u0000","price":1,"stock":1}"#] {
            let (status, problem) = try await Self.post(products, body: body)
            #expect((400..<500).contains(status))
            outputs.append(problem)
        }
        outputs.append(try await Self.post(products, body: "{}", headers: ["Content-Type": "text/plain"]).1)
        outputs.append(try await Self.get(base.appendingPathComponent("products/123")))
        outputs.append(try await Self.get(base.appendingPathComponent("metrics")))
        outputs.append(try await Self.get(base.appendingPathComponent("health")))
        // The event went through the relay (its token was sent in CONNECT) before its metrics are read.
        #expect(await waitUntilAsync(timeout: .seconds(30), interval: .milliseconds(200)) { (try? await Self.get(relayBase.appendingPathComponent("metrics")))?.contains("outbox_relay_events_published_total 1") == true })
        outputs.append(try await Self.get(relayBase.appendingPathComponent("metrics")))
        outputs.append(try await Self.get(relayBase.appendingPathComponent("health")))
        #expect(await api.terminate() == 0)
        #expect(await relay.terminate() == 0)
        let logs = [api.logTail(lines: Int.max), relay.logTail(lines: Int.max)]
        #expect(logs.allSatisfy { !$0.isEmpty })
        #expect(logs[1].contains("pulsar.token=***"), "the logged configuration masks the token")
        for (index, text) in (logs + outputs).enumerated() {
            #expect(!text.contains(password), "password in output \(index)")
            #expect(!text.contains(token), "token in output \(index)")
        }
    }

}
