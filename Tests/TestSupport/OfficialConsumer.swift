import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One message as the official Apache Pulsar client (Python) read it.
public struct OfficialMessage: Sendable, Hashable, Decodable {
    public var id: String
    public var payload: Data
    public var key: String?
    public var properties: [String: String]
    public var eventTime: UInt64
    public var publishTime: UInt64
    public var producerName: String

    enum CodingKeys: String, CodingKey {
        case id, key, properties
        case payload = "payload_b64", eventTime = "event_time", publishTime = "publish_time", producerName = "producer_name"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        let base64 = try container.decode(String.self, forKey: .payload)
        guard let payload = Data(base64Encoded: base64) else {
            throw DecodingError.dataCorruptedError(forKey: .payload, in: container, debugDescription: "not base64")
        }
        self.payload = payload
        key = try container.decodeIfPresent(String.self, forKey: .key)
        properties = try container.decode([String: String].self, forKey: .properties)
        eventTime = try container.decode(UInt64.self, forKey: .eventTime)
        publishTime = try container.decode(UInt64.self, forKey: .publishTime)
        producerName = try container.decode(String.self, forKey: .producerName)
    }

    public var text: String { String(decoding: payload, as: UTF8.self) }

    /// The JSON lines of `output` that are messages (the client's own log lines are skipped).
    static func parse(_ output: String) -> [OfficialMessage] {
        output.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("{\"id\"") else { return nil }
            return try? JSONDecoder().decode(OfficialMessage.self, from: Data(line.utf8))
        }
    }
}

/// The official Python client (`Tests/TestSupport/official_consume.py` in the stack's venv) reading
/// a topic from the earliest message: proof that what our producer wrote is readable by Pulsar's
/// own client.
public enum OfficialConsumer {
    public static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("official_consume.py").path
    }

    public struct Result: Sendable {
        /// False when the timeout passed before `count` messages arrived.
        public var complete: Bool
        public var messages: [OfficialMessage]
        public var log: String
    }

    /// Reads until `count` distinct messages arrived (then until the topic has been quiet for
    /// `linger`, so extra messages show) or `timeout` passed.
    public static func consume(
        topic: String, count: Int, url: String? = nil, subscription: String? = nil, exclusive: Bool = false,
        linger: Duration = .zero, timeout: Duration = .seconds(120)
    ) async throws -> Result {
        let python = try StackEnvironment.require("STACK_PYTHON")
        let url = try url ?? StackEnvironment.require("PULSAR_URI")
        var arguments = [
            script, url, topic, subscription ?? "verify-\(UUID().uuidString.prefix(8))", "\(count)",
            "\(timeout.components.seconds)", "--linger", "\(Double(linger.components.seconds) + Double(linger.components.attoseconds) / 1e18)",
        ]
        if exclusive { arguments.append("--exclusive") }
        // The script keeps its own deadline; this one only stops a client that hangs.
        let result = try await Spawn.output(python, arguments, timeout: timeout + .seconds(60))
        guard result.code == 0 || result.code == 2 else {
            throw Spawn.Failure(description: "official_consume.py exited \(result.code): \(result.output.suffix(2000))")
        }
        return Result(complete: result.code == 0, messages: OfficialMessage.parse(result.output), log: result.output)
    }

    /// A consumer running in the background while a test produces, its messages in a file.
    public final class Collector: Sendable {
        public let outputPath: String
        private let pid: pid_t

        /// Starts the consumer and waits until it is subscribed (nothing published afterwards is missed).
        public init(topic: String, subscription: String = "verify", url: String? = nil, timeout: Duration = .seconds(30)) async throws {
            let python = try StackEnvironment.require("STACK_PYTHON")
            let url = try url ?? StackEnvironment.require("PULSAR_URI")
            outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("collector-\(UUID().uuidString).jsonl").path
            pid = try Spawn.start(python, [Self.scriptPath, url, topic, subscription, "0", "3600", "--ready"], logPath: outputPath)
            let path = outputPath
            let pid = pid
            let ready = await waitUntil(timeout: timeout) {
                ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").contains("{\"ready\": true}") || !Spawn.isRunning(pid)
            }
            guard ready, Spawn.isRunning(pid) else {
                kill(pid, SIGKILL)
                _ = await Spawn.wait(pid)
                let log = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
                throw Spawn.Failure(description: "official consumer did not subscribe: \(log.suffix(2000))")
            }
        }

        private static var scriptPath: String { OfficialConsumer.script }

        deinit { stop() }

        /// SIGKILL: the C++ client does not always honour SIGTERM. Reaped on its own thread.
        public func stop() {
            guard Spawn.isRunning(pid) else {
                var status: Int32 = 0
                _ = waitpid(pid, &status, WNOHANG)  // reap an exited child
                return
            }
            kill(pid, SIGKILL)
            let pid = pid
            Thread { _ = Spawn.waitBlocking(pid) }.start()
        }

        public var received: [OfficialMessage] {
            OfficialMessage.parse((try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
        }

        /// Waits until `done` holds for what arrived, or `timeout` passes; returns what arrived.
        public func wait(timeout: Duration = .seconds(60), until done: ([OfficialMessage]) -> Bool) async -> [OfficialMessage] {
            var messages = received
            _ = await waitUntil(timeout: timeout, interval: .milliseconds(100)) {
                messages = received
                return done(messages)
            }
            return messages
        }
    }
}
