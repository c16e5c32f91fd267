import Synchronization
import NIOCore

/// One connection per (logical broker, physical endpoint), shared by all producers and consumers.
/// A dead connection is replaced on the next request; a failed connect is not cached.
final class ConnectionPool: Sendable {
    private struct Key: Hashable {
        var logical: BrokerAddress
        var physical: BrokerAddress
    }

    private struct State {
        var entries: [Key: Task<PulsarConnection, any Error>] = [:]
        var isShutdown = false
    }

    private let state = Mutex(State())
    let factory: ConnectionFactory

    init(factory: ConnectionFactory) {
        self.factory = factory
    }

    func connection(logical: BrokerAddress, physical: BrokerAddress) async throws(PulsarClientError) -> PulsarConnection {
        let key = Key(logical: logical, physical: physical)
        for _ in 0..<2 {
            let task: Task<PulsarConnection, any Error>? = state.withLock { state in
                guard !state.isShutdown else { return nil }
                if let existing = state.entries[key] { return existing }
                let factory = self.factory
                let task = Task<PulsarConnection, any Error> {
                    try await factory.connect(logical: logical, physical: physical)
                }
                state.entries[key] = task
                return task
            }
            guard let task else {
                throw PulsarClientError(code: .clientClosed, message: "the client is shut down")
            }
            do {
                let connection = try await task.value
                if connection.isActive { return connection }
                // Stale: drop it (only if nobody replaced it already) and connect anew.
                self.remove(key, task)
            } catch {
                self.remove(key, task)
                if let error = error as? PulsarClientError { throw error }
                throw PulsarClientError(code: .connectionFailed, message: "cannot connect to \(physical)", underlying: error)
            }
        }
        throw PulsarClientError(code: .connectionFailed, message: "connection to \(physical) closed right after connecting")
    }

    private func remove(_ key: Key, _ task: Task<PulsarConnection, any Error>) {
        state.withLock { state in
            if state.entries[key] == task { state.entries[key] = nil }
        }
    }

    /// Closes every connection; later requests fail with `clientClosed`.
    func shutdown() async {
        let tasks = state.withLock { state in
            state.isShutdown = true
            defer { state.entries = [:] }
            return Array(state.entries.values)
        }
        for task in tasks {
            if let connection = try? await task.value {
                connection.close(error: PulsarClientError(code: .clientClosed, message: "the client is shut down"))
                try? await connection.closeFuture.get()
            }
        }
    }
}
