import Logging
import PulsarClient

/// Drives one `InboxStateMachine`: runs its actions and feeds their outcomes back.
actor InboxLane<Handler: InboxHandler> {
    private var machine: InboxStateMachine
    private let runner: InboxTransactionRunner<Handler>
    private let deadLetters: DeadLetterPublisher
    private let acknowledge: @Sendable ([InboxEntry]) async -> Void
    private let metrics: InboxMetrics
    private let logger: Logger
    /// The batch in the current transaction, for the acknowledgement callback.
    private var running: InboxBatch?
    private var deadLettering: InboxEntry?

    init(
        settings: InboxStateMachine.Settings,
        runner: InboxTransactionRunner<Handler>,
        deadLetters: DeadLetterPublisher,
        metrics: InboxMetrics,
        logger: Logger,
        acknowledge: @escaping @Sendable ([InboxEntry]) async -> Void
    ) {
        self.machine = InboxStateMachine(settings: settings)
        self.runner = runner
        self.deadLetters = deadLetters
        self.metrics = metrics
        self.logger = logger
        self.acknowledge = acknowledge
    }

    var isIdle: Bool { machine.isIdle }

    func receive(_ entry: InboxEntry) {
        run(machine.received(entry))
    }

    private func run(_ actions: [InboxStateMachine.Action]) {
        for action in actions {
            switch action {
            case .runTransaction(let batch):
                running = batch
                Task { await self.transactionEnded(batch, await runner.run(batch)) }
            case .acknowledge(let ids):
                let entries = acknowledgedEntries(ids)
                Task { await acknowledge(entries) }
            case .wait(let delay):
                Task {
                    try? await Task.sleep(for: delay)
                    await self.retryDue()
                }
            case .deadLetter(let entry, let reason):
                deadLettering = entry
                Task { await self.deadLetterEnded(await deadLetters.publish(entry, reason: reason)) }
            }
        }
    }

    private func acknowledgedEntries(_ ids: [PulsarMessageID]) -> [InboxEntry] {
        if let deadLettering, ids == [deadLettering.id] {
            self.deadLettering = nil
            return [deadLettering]
        }
        defer { running = nil }
        return running?.entries ?? []
    }

    private func transactionEnded(_ batch: InboxBatch, _ result: Result<InboxTransactionRunner<Handler>.Outcome, InboxStateMachine.Failure>) {
        switch result {
        case .success(let outcome):
            metrics.processed.increment(by: Int64(outcome.processed))
            metrics.duplicatesSkipped.increment(by: Int64(outcome.duplicates))
            metrics.transactions.increment()
            run(machine.transactionCommitted())
        case .failure(let failure):
            switch failure {
            case .handler(let message):
                logger.warning("handler failed; rolled back", metadata: ["messages": "\(batch.count)", "error": "\(message)"])
                // A single message's failure is a redelivery; a group's is first narrowed down.
                if batch.count == 1, let id = batch.entries.first?.id, machine.failureCount(of: id) < machine.settings.maxRedeliveries {
                    metrics.redeliveries.increment()
                }
            case .infrastructure(let message):
                logger.warning("inbox transaction failed; retrying", metadata: ["messages": "\(batch.count)", "error": "\(message)"])
            }
            running = nil
            run(machine.transactionFailed(failure))
        }
    }

    private func retryDue() {
        run(machine.retryDue())
    }

    private func deadLetterEnded(_ published: Bool) {
        if published {
            metrics.deadLettered.increment()
            run(machine.deadLetterPublished())
        } else {
            run(machine.deadLetterFailed())
        }
    }
}
