import Logging
import Synchronization
import NIOCore
import NIOPosix

/// Entry point: owns the connection pool and creates producers (and, in `Consumer/`, consumers).
public final class PulsarClient: Sendable {
    public let configuration: PulsarClientConfiguration
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    /// Invalid configuration (bad URL, unreadable CA file) is reported by the first operation.
    private let setup: Result<Setup, PulsarClientError>
    private let producerIDs = Atomic<UInt64>(0)
    private let consumerIDs = Atomic<UInt64>(0)
    private let producers = Mutex<[ObjectIdentifier: PulsarProducer]>([:])
    private let isShutdown = Atomic(false)

    struct Setup: Sendable {
        var serviceAddress: BrokerAddress
        var pool: ConnectionPool
        var lookup: LookupService
    }

    public init(
        configuration: PulsarClientConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "pulsar")
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.setup = Result { () throws(PulsarClientError) -> Setup in
            let service = try BrokerAddress(url: configuration.serviceURL)
            let factory = try ConnectionFactory(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
            let pool = ConnectionPool(factory: factory)
            let lookup = LookupService(serviceAddress: service, pool: pool, operationTimeout: configuration.operationTimeout,
                                       maxRedirects: configuration.maxLookupRedirects)
            return Setup(serviceAddress: service, pool: pool, lookup: lookup)
        }
    }

    /// Connects to the service URL (TLS and authentication as configured) and looks `topic` up:
    /// the broker is reachable and answers. Used by preflight checks.
    public func lookUp(topic: String) async throws {
        try checkOpen()
        _ = try await setup.get().lookup.lookup(topic: topic)
    }

    // MARK: producers

    public func createProducer(topic: String, options: ProducerOptions = .init()) async throws -> PulsarProducer {
        try checkOpen()
        let setup = try self.setup.get()
        guard !topic.isEmpty else { throw PulsarClientError(code: .invalidConfiguration, message: "empty topic name") }
        guard options.maxPendingMessages > 0 else {
            throw PulsarClientError(code: .invalidConfiguration, message: "maxPendingMessages must be positive")
        }
        let partitions = try await setup.lookup.partitionCount(topic: topic)
        var partitionTopics: [(name: String, index: Int32)] = [(topic, Int32(-1))]
        if partitions > 0 {
            partitionTopics = (0..<partitions).map { (name: "\(topic)-partition-\($0)", index: Int32($0)) }
        }
        var created: [PartitionProducer] = []
        do {
            for (partitionTopic, index) in partitionTopics {
                let producer = PartitionProducer(
                    client: self, topic: partitionTopic, partitionIndex: index, producerID: nextProducerID(), options: options)
                try await producer.start()
                created.append(producer)
            }
        } catch {
            for producer in created { try? await producer.close() }
            throw error
        }
        let producer = PulsarProducer(topic: topic, partitions: created, client: self)
        producers.withLock { $0[ObjectIdentifier(producer)] = producer }
        return producer
    }

    func producerClosed(_ producer: PulsarProducer) {
        _ = producers.withLock { $0.removeValue(forKey: ObjectIdentifier(producer)) }
    }

    /// Closes producers (waiting for their pending messages up to their send timeout) and connections.
    public func shutdown() async {
        guard isShutdown.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        let open = producers.withLock { Array($0.values) }
        for producer in open { try? await producer.close() }
        if case .success(let setup) = setup { await setup.pool.shutdown() }
    }

    // MARK: building blocks for producers and consumers (same module)

    func nextProducerID() -> UInt64 { producerIDs.wrappingAdd(1, ordering: .relaxed).oldValue }
    func nextConsumerID() -> UInt64 { consumerIDs.wrappingAdd(1, ordering: .relaxed).oldValue }

    func checkOpen() throws(PulsarClientError) {
        if isShutdown.load(ordering: .relaxed) {
            throw PulsarClientError(code: .clientClosed, message: "the client is shut down")
        }
    }

    func partitionCount(topic: String) async throws(PulsarClientError) -> Int {
        try await setup.get().lookup.partitionCount(topic: topic)
    }

    /// The connection to the broker serving `topic`: a lookup, then the pooled connection.
    /// `assignedBrokerURL` (from CLOSE_PRODUCER / CLOSE_CONSUMER) skips the lookup once.
    func connection(forTopic topic: String, assignedBrokerURL: String? = nil) async throws(PulsarClientError) -> PulsarConnection {
        let setup = try self.setup.get()
        if let assignedBrokerURL, let address = try? BrokerAddress(url: assignedBrokerURL) {
            if let connection = try? await setup.pool.connection(logical: address, physical: address) {
                return connection
            }
        }
        let target = try await setup.lookup.lookup(topic: topic)
        return try await setup.pool.connection(logical: target.logical, physical: target.physical)
    }
}
