import Foundation
import Synchronization

/// Reads a topic with the official Python client (Shared subscription: pulsar-lite delivers each
/// message exactly once there) and records every message as a JSON line in a file.
final class PulsarCollector: Sendable {
    struct Received: Sendable, Hashable {
        var eventID: Int64
        var sequenceID: Int64
        var key: String
        var properties: [String: String]
        var producerName: String
        var eventTime: UInt64
        var payload: String
        var messageID: String
    }

    static let script = #"""
    import json, sys, pulsar
    url, topic, subscription, out = sys.argv[1:5]
    client = pulsar.Client(url, operation_timeout_seconds=10, logger=pulsar.ConsoleLogger(pulsar.LoggerLevel.Error))
    consumer = client.subscribe(topic, subscription, consumer_type=pulsar.ConsumerType.Shared,
                                initial_position=pulsar.InitialPosition.Earliest, receiver_queue_size=1000)
    print("ready", flush=True)
    with open(out, "a") as f:
        while True:
            try:
                msg = consumer.receive(timeout_millis=500)
            except Exception:
                continue
            props = msg.properties()
            f.write(json.dumps({
                "event_id": int(props.get("event_id", "-1")),
                "sequence_id": msg.sequence_id() if hasattr(msg, "sequence_id") else -1,
                "key": msg.partition_key(),
                "properties": props,
                "producer_name": msg.producer_name() if hasattr(msg, "producer_name") else "",
                "event_time": msg.event_timestamp(),
                "payload": msg.data().decode("utf-8", "replace"),
                "message_id": str(msg.message_id()),
            }) + "\n")
            f.flush()
            consumer.acknowledge(msg)
    """#

    let outputPath: String
    private let process: Process

    /// Starts the consumer and waits until it is subscribed.
    init(topic: String, subscription: String = "verify") throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("relay-collector-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let scriptPath = dir.appendingPathComponent("collect.py").path
        try Self.script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        outputPath = dir.appendingPathComponent("messages.jsonl").path
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: RelayTestStack.python)
        process.arguments = [scriptPath, RelayTestStack.pulsarURI, topic, subscription, outputPath]
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait for "ready" (subscription exists, so nothing published afterwards is missed).
        // The C++ client logs to stdout too: read until the marker line (or end of output).
        var seen = ""
        while !seen.contains("\nready") && !seen.hasPrefix("ready") {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        // Keep draining stdout so the consumer never blocks on a full pipe.
        stdout.fileHandleForReading.readabilityHandler = { handle in _ = handle.availableData }
        guard seen.contains("ready") else {
            process.terminate()
            throw ProcessFailure(command: "collector", status: -1, output: "consumer did not start")
        }
    }

    deinit {
        stop()
    }

    /// SIGKILL: the C++ client does not always honour SIGTERM, and Foundation's waitUntilExit
    /// spins off the main thread.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
    }

    var received: [Received] {
        guard let data = FileManager.default.contents(atPath: outputPath) else { return [] }
        var result: [Received] = []
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else { continue }
            result.append(
                Received(
                    eventID: (object["event_id"] as? NSNumber)?.int64Value ?? -1,
                    sequenceID: (object["sequence_id"] as? NSNumber)?.int64Value ?? -1,
                    key: object["key"] as? String ?? "",
                    properties: object["properties"] as? [String: String] ?? [:],
                    producerName: object["producer_name"] as? String ?? "",
                    eventTime: (object["event_time"] as? NSNumber)?.uint64Value ?? 0,
                    payload: object["payload"] as? String ?? "",
                    messageID: object["message_id"] as? String ?? ""))
        }
        return result
    }

    /// Waits until at least `count` distinct event ids arrived (or the timeout passed).
    func waitForDistinctEvents(_ count: Int, timeout: Duration = .seconds(60)) async -> [Received] {
        let deadline = ContinuousClock.now + timeout
        var messages = received
        while Set(messages.map(\.eventID)).count < count && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(200))
            messages = received
        }
        return messages
    }
}
