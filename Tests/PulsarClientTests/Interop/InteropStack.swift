import NIOConcurrencyHelpers
import NIOCore
import Testing
import TestSupport
@testable import PulsarClient

#if canImport(FoundationEssentials)
import Foundation
#else
import Foundation
#endif

/// Our client on the stack's broker, and the Python helpers next to this file (official producers).
enum InteropStack {
    static func makeClient(url: String? = nil, configure: (inout PulsarClientConfiguration) -> Void = { _ in }) throws -> PulsarClient {
        var configuration = PulsarClientConfiguration(serviceURL: try url ?? StackEnvironment.require("PULSAR_URI"))
        configuration.operationTimeout = .seconds(15)
        configure(&configuration)
        return PulsarClient(configuration: configuration)
    }

    /// A file next to this one (the Python helpers).
    static func helperPath(_ name: String, filePath: String = #filePath) -> String {
        URL(fileURLWithPath: filePath).deletingLastPathComponent().appendingPathComponent(name).path
    }
}

/// Receives with a deadline so a missing message fails the test instead of hanging it.
enum ReceiveHelper {
    struct Timeout: Error, CustomStringConvertible {
        var received: Int
        var description: String { "timed out after receiving \(received) messages" }
    }

    /// Collects messages until `count` distinct ids were seen (pulsar-lite may redeliver), acking each.
    static func receiveDistinct(
        _ consumer: PulsarConsumer,
        count: Int,
        timeout: Duration = .seconds(60),
        acknowledge: Bool = true
    ) async throws -> [PulsarMessage] {
        let progress = NIOLockedValueBox(0)
        return try await withThrowingTaskGroup(of: [PulsarMessage]?.self) { group in
            group.addTask {
                var seen = Set<PulsarMessageID>()
                var messages: [PulsarMessage] = []
                while seen.count < count {
                    guard let message = try await consumer.receive() else { break }
                    if acknowledge { try await consumer.acknowledge(message.id) }
                    if seen.insert(message.id).inserted {
                        messages.append(message)
                        progress.withLockedValue { $0 = messages.count }
                    }
                }
                return messages
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            guard let first = try await group.next(), let messages = first else {
                group.cancelAll()
                throw Timeout(received: progress.withLockedValue { $0 })
            }
            group.cancelAll()
            return messages
        }
    }
}
