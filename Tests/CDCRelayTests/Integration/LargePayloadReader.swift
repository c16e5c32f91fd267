import Foundation
import TestSupport

/// Reads `count` messages of a topic with the official Python client and reports, per message,
/// its event id, sequence id, payload size and SHA-256 (large payloads are never copied around).
enum LargePayloadReader {
    struct Digest: Sendable, Hashable {
        var eventID: Int64
        var sequenceID: Int64
        var size: Int
        var sha256: String
    }

    static let script = #"""
    import hashlib, json, sys, time, pulsar
    url, topic, subscription, count, seconds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    client = pulsar.Client(url, operation_timeout_seconds=30, logger=pulsar.ConsoleLogger(pulsar.LoggerLevel.Error))
    consumer = client.subscribe(topic, subscription, consumer_type=pulsar.ConsumerType.Exclusive,
                                initial_position=pulsar.InitialPosition.Earliest)
    deadline = time.time() + seconds
    seen = 0
    while seen < count and time.time() < deadline:
        try:
            msg = consumer.receive(timeout_millis=1000)
        except Exception:
            continue
        data = msg.data()
        print(json.dumps({"event_id": int(msg.properties().get("event_id", "-1")), "sequence_id": msg.sequence_id() if hasattr(msg, "sequence_id") else -1,
                          "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}), flush=True)
        consumer.acknowledge(msg)
        seen += 1
    client.close()
    """#

    static func read(topic: String, subscription: String, count: Int, timeout: Duration) throws -> [Digest] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("large-\(UUID().uuidString).py").path
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let output = try Spawn.checked(
            StackEnvironment.python, [path, StackEnvironment.pulsarURI, topic, subscription, "\(count)", "\(timeout.components.seconds)"])
        return output.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return Digest(
                eventID: (object["event_id"] as? NSNumber)?.int64Value ?? -1,
                sequenceID: (object["sequence_id"] as? NSNumber)?.int64Value ?? -1,
                size: (object["size"] as? NSNumber)?.intValue ?? -1,
                sha256: object["sha256"] as? String ?? "")
        }
    }

    /// What Postgres sends for each row's payload (its text output), as size and SHA-256.
    static func expected(schemaTable: String, database: String = StackEnvironment.database) throws -> [Int64: (size: Int, sha256: String)] {
        let rows = try SQL.run(
            "SELECT id || ' ' || octet_length(payload::text) || ' ' || encode(sha256(convert_to(payload::text, 'UTF8')), 'hex') FROM \(schemaTable) ORDER BY id;",
            database: database)
        var result: [Int64: (size: Int, sha256: String)] = [:]
        for line in rows.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 3, let id = Int64(parts[0]), let size = Int(parts[1]) else { continue }
            result[id] = (size, String(parts[2]))
        }
        return result
    }
}
