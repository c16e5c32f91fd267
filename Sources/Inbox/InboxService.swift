import Foundation
import Logging
import NIOConcurrencyHelpers
import OutboxCore
import PostgresNIO
import PulsarClient
import ServiceLifecycle

/// Exactly-once effect for one subscription: receives from Pulsar, hands each message to the
/// lane of its key, and acknowledges only what a lane committed (or dead-lettered).
///
/// The `PostgresClient` must be running (a service of the same group). On graceful shutdown the
/// reader stops, the lanes finish what they have (up to `drainTimeout`) and the consumer closes;
/// whatever was not acknowledged is redelivered to the next consumer and found in the inbox.
public final class InboxService<Handler: InboxHandler>: Service, Sendable {
    public let settings: InboxSettings
    public let metrics: InboxMetrics
    private let pulsar: PulsarClient
    private let postgres: PostgresClient
    private let handler: Handler
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    private struct State {
        var subscribed = false
        var failure: String?
    }

    public init(
        pulsar: PulsarClient, postgres: PostgresClient, settings: InboxSettings, handler: Handler,
        metrics: InboxMetrics? = nil, logger: Logger
    ) {
        self.pulsar = pulsar
        self.postgres = postgres
        self.settings = settings
        self.handler = handler
        self.metrics = metrics ?? InboxMetrics(subscription: settings.subscription)
        self.logger = logger
    }

    /// True while a consumer is subscribed (the projector's `/health`).
    public var isSubscribed: Bool { state.withLockedValue { $0.subscribed } }

    public func run() async throws {
        guard let consumer = try await subscribeUntilDone() else { return }
        state.withLockedValue { $0.subscribed = true }
        defer { state.withLockedValue { $0.subscribed = false } }

        let window = InboxWindow(limit: settings.maxInFlight)
        let deadLetters = DeadLetterPublisher(
            client: pulsar, topic: settings.deadLetterTopic, sourceTopic: settings.topic, logger: logger)
        let runner = InboxTransactionRunner(
            postgres: postgres, subscription: settings.subscription, handler: handler, metrics: metrics, logger: logger)
        let metrics = self.metrics
        let logger = self.logger
        let lanes = (0..<settings.lanes).map { _ in
            InboxLane(
                settings: settings.machine, runner: runner, deadLetters: deadLetters, metrics: metrics, logger: logger,
                acknowledge: { entries in
                    for entry in entries {
                        do {
                            try await consumer.acknowledge(entry.id)
                        } catch {
                            // The consumer closed or reconnected: the broker redelivers, the inbox no-ops.
                            logger.debug("acknowledge failed", metadata: ["id": "\(entry.id)", "error": "\(error)"])
                        }
                    }
                    if let last = entries.last {
                        let nowMillis = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
                        metrics.lagSeconds.record(Double(nowMillis &- min(nowMillis, last.message.publishTime)) / 1000)
                    }
                    await window.release(entries.count)
                    metrics.inFlight.record(Int64(await window.inUse))
                })
        }

        var readError: (any Error)?
        do {
            _ = try await cancelOnGracefulShutdown {
                try await self.read(consumer, lanes: lanes, window: window)
            }
        } catch is CancellationError {
            // Graceful shutdown.
        } catch {
            readError = error
        }
        await window.open()
        await drain(lanes)
        try? await consumer.close()
        await deadLetters.close()
        if let readError {
            state.withLockedValue { $0.failure = "\(readError)" }
            throw InboxError(code: .consumerFailed, detail: "\(settings.topic) / \(settings.subscription): \(readError)")
        }
    }

    private func read(_ consumer: PulsarConsumer, lanes: [InboxLane<Handler>], window: InboxWindow) async throws {
        while true {
            // A full window must not keep a shutdown waiting: cancellation opens it.
            await withTaskCancellationHandler {
                await window.acquire()
            } onCancel: {
                Task { await window.open() }
            }
            try Task.checkCancellation()
            let message: PulsarMessage
            do {
                guard let received = try await consumer.receive() else { return }
                message = received
            } catch let error as PulsarConsumerError {
                // One undecodable message: nothing can be done with it but drop it (logged).
                await window.release(1)
                guard let id = error.messageID else { throw error }
                logger.error("dropping an undecodable message", metadata: ["id": "\(id)", "error": "\(error)"])
                try? await consumer.acknowledge(id)
                continue
            }
            metrics.inFlight.record(Int64(await window.inUse))
            let entry = InboxEntry(message: message)
            await lanes[Self.lane(for: message, count: lanes.count)].receive(entry)
        }
    }

    /// One key always maps to one lane (FNV-1a, stable across runs); keyless messages share lane 0.
    static func lane(for message: PulsarMessage, count: Int) -> Int {
        guard let key = message.key, count > 1 else { return 0 }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int(hash % UInt64(count))
    }

    /// Configuration and permission problems end the service; a broker that is away does not.
    static func isRetryable(_ error: any Error) -> Bool {
        if error is PulsarConsumerError { return false }
        if let error = error as? PulsarClientError {
            return ![.invalidConfiguration, .invalidServiceURL, .authenticationFailed, .notAllowed, .clientClosed, .tlsConfiguration].contains(error.code)
        }
        return true
    }

    private func drain(_ lanes: [InboxLane<Handler>]) async {
        let deadline = ContinuousClock.now + settings.drainTimeout
        for lane in lanes {
            while await !lane.isIdle, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    /// Subscribes, retrying with backoff while the broker is away; nil when shut down first.
    private func subscribeUntilDone() async throws -> PulsarConsumer? {
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))
        let options = ConsumerOptions(
            subscriptionType: settings.subscriptionType, initialPosition: .earliest,
            receiverQueueSize: min(settings.maxInFlight, 1000))
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let consumer = try await pulsar.subscribe(topic: settings.topic, subscription: settings.subscription, options: options)
                logger.info("subscribed", metadata: [
                    "topic": "\(settings.topic)", "subscription": "\(settings.subscription)", "type": "\(settings.subscriptionType)",
                ])
                return consumer
            } catch {
                guard Self.isRetryable(error) else {
                    throw InboxError(code: .subscribeFailed, detail: "\(settings.topic) / \(settings.subscription): \(error)")
                }
                let delay = backoff.nextDelay()
                logger.warning("subscribe failed; retrying", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                try? await cancelOnGracefulShutdown { try await Task.sleep(for: delay) }
            }
        }
        return nil
    }
}
