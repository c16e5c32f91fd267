import NIOCore
import NIOPosix

/// One ``CreateWriter`` per event loop of the group that serves HTTP. A create goes to the writer
/// of the loop it runs on (with the event loops as the global executor, the loop that read its
/// request), so writing it involves no thread hop at all.
final class CreateWriters: Sendable {
    private let writers: [CreateWriter]

    init(
        eventLoopGroup: any EventLoopGroup, settings: CreateWriterSettings,
        maximumBatchSize: Int, maximumConcurrentStatements: Int,
        statementTimeout: Duration, retryAfterSeconds: Int, metrics: APIMetrics?
    ) {
        var writers: [CreateWriter] = []
        for loop in eventLoopGroup.makeIterator() {
            writers.append(CreateWriter(
                eventLoop: loop, settings: settings, maximumBatchSize: maximumBatchSize,
                maximumConcurrentStatements: maximumConcurrentStatements, statementTimeout: statementTimeout,
                retryAfterSeconds: retryAfterSeconds, metrics: metrics
            ))
        }
        self.writers = writers
    }

    var all: [CreateWriter] { writers }

    /// The writer of the current event loop; off the group's loops (callers on the default
    /// executor, as in tests) always the first, so their creates still batch together.
    func current() -> CreateWriter {
        if let loop = MultiThreadedEventLoopGroup.currentEventLoop {
            for writer in writers where writer.eventLoop === loop { return writer }
        }
        return writers[0]
    }

    func close() {
        for writer in writers { writer.close() }
    }
}
