import Logging
import PostgresNIO

/// The application's part: the effect of new messages, written with the inbox's transaction.
///
/// `handle` gets the messages of one transaction that were never processed before, in arrival
/// order (one key's messages in their order). Everything it writes through `connection` commits
/// together with their inbox rows, or not at all. Throwing rolls the whole transaction back; the
/// inbox then retries the messages one by one and dead-letters the one that keeps failing.
public protocol InboxHandler: Sendable {
    func handle(_ entries: [InboxEntry], on connection: PostgresConnection, logger: Logger) async throws
}
