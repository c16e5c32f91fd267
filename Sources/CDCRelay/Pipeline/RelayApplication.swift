import Logging
import NIOCore
import OutboxCore
import PulsarClient
import ServiceLifecycle
import UnixSignals

/// Wires the relay from the shared configuration: replication connector, Pulsar publisher,
/// the relay service, the metrics/health server and the retained-WAL monitor, in one ServiceGroup.
public struct RelayApplication: Sendable {
    public let configuration: OutboxConfiguration
    public let relay: RelayService<PostgresReplicationConnector>
    public let pulsarClient: PulsarClient
    private let services: [any Service]
    private let logger: Logger

    public init(
        configuration: OutboxConfiguration,
        logger: Logger,
        table: OutboxTable? = nil,
        metricsHost: String? = nil,
        onMetricsServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) throws {
        self.configuration = configuration
        self.logger = logger
        // Tests name their own schema's table; otherwise `relay.table`.
        let table = table ?? OutboxTable(configured: configuration.relay.table)
        let database = configuration.database
        let relaySettings = configuration.relay
        let replication = Self.replicationConfiguration(configuration)
        let pulsarConfiguration = try Self.pulsarConfiguration(configuration)
        let client = PulsarClient(configuration: pulsarConfiguration, logger: logger)
        self.pulsarClient = client

        let settings = RelaySettings(
            table: table,
            columns: relaySettings.columns,
            topicName: configuration.pulsar.topicName,
            slotName: relaySettings.slotName,
            maxInFlight: relaySettings.maxInFlight,
            statusInterval: relaySettings.statusInterval,
            shutdownTimeout: relaySettings.shutdownTimeout,
            invalidEvents: RelayPipeline.InvalidEventHandling(
                policy: relaySettings.invalidEventPolicy,
                deadLetterTopic: relaySettings.deadLetterTopic,
                maxEventBytes: relaySettings.maxEventBytes,
                slotName: relaySettings.slotName)
        )
        let metrics = RelayMetrics()
        let health = HealthState()
        let relay = try RelayService(
            connector: PostgresReplicationConnector(configuration: replication, table: table, logger: logger),
            publishers: PulsarEventPublisherFactory(
                client: client,
                producerName: SequenceIDScheme.producerName(slotName: relaySettings.slotName),
                maxPendingMessages: relaySettings.maxInFlight
            ),
            settings: settings,
            metrics: metrics,
            health: health,
            logger: logger
        )
        self.relay = relay
        let monitor = RetainedWALMonitor(
            conninfo: Self.conninfo(database),
            slotName: relaySettings.slotName,
            metrics: metrics,
            logger: logger
        )
        // Listed first: the group shuts services down in reverse order, so the recorder writes
        // the final position after the relay drained.
        let recorder = ProgressRecorder(
            // The role that records the slot's identity (the replication role) also records its progress.
            conninfo: Self.conninfo(
                database, user: relaySettings.effectiveReplicationUsername(database: database), applicationName: "cdc-relay-progress"),
            slotName: relaySettings.slotName, board: relay.progress,
            metrics: metrics, logger: logger)
        let server = ObservabilityServer.make(
            host: metricsHost ?? relaySettings.metricsHost,
            port: relaySettings.metricsPort,
            metrics: metrics,
            health: health,
            logger: logger,
            onServerRunning: onMetricsServerRunning
        )
        self.services = [recorder, relay, server, monitor]
    }

    /// The progress recorder, the relay, the metrics server and the monitor; any of them ending
    /// ends the group.
    public func makeServiceGroup(gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint]) -> ServiceGroup {
        ServiceGroup(
            configuration: .init(
                services: services.map { service in
                    .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
                },
                gracefulShutdownSignals: gracefulShutdownSignals,
                logger: logger
            )
        )
    }

    /// Runs until SIGTERM/SIGINT (graceful: drain, final status) or a fatal relay error.
    public func run() async throws {
        let group = makeServiceGroup()
        do {
            try await group.run()
            await pulsarClient.shutdown()
        } catch {
            await pulsarClient.shutdown()
            throw error
        }
    }

    /// The relay's Pulsar client settings (also used by `cdc-relay check`).
    public static func pulsarConfiguration(_ configuration: OutboxConfiguration) throws(ConfigurationError) -> PulsarClientConfiguration {
        var pulsarConfiguration = PulsarClientConfiguration(serviceURL: configuration.pulsar.uri)
        pulsarConfiguration.authToken = configuration.pulsar.token.flatMap { $0.isEmpty ? nil : $0 }
        if let path = configuration.pulsar.tokenFile {
            let file = TokenFile(path: path)
            // Unreadable at start is a configuration error; later reads fail only that connect.
            do {
                _ = try file.read()
            } catch {
                throw ConfigurationError(code: .invalidValue, key: "pulsar.token_file", reason: "\(error)")
            }
            pulsarConfiguration.authTokenProvider = { try file.read() }
        }
        pulsarConfiguration.tlsTrustCertificatesFile = configuration.pulsar.tlsTrustCertificatesFile
        pulsarConfiguration.tlsAllowInsecureConnection = configuration.pulsar.tlsAllowInsecureConnection
        // A broker that comes back is found within ~2 s (the client default backs off to 30 s),
        // and an unanswered request gives up sooner, so a session waiting on it restarts quickly.
        pulsarConfiguration.initialBackoff = .milliseconds(100)
        pulsarConfiguration.maxBackoff = .seconds(2)
        pulsarConfiguration.operationTimeout = .seconds(10)
        return pulsarConfiguration
    }

    /// The relay's replication connection (also used by `cdc-relay check`).
    public static func replicationConfiguration(_ configuration: OutboxConfiguration) -> ReplicationConfiguration {
        let database = configuration.database
        let relaySettings = configuration.relay
        var replication = ReplicationConfiguration(
            host: database.host,
            port: database.port,
            user: relaySettings.effectiveReplicationUsername(database: database),
            password: database.password,
            database: database.database,
            sslMode: database.sslMode.rawValue,
            slotName: relaySettings.slotName,
            publicationName: relaySettings.publicationName
        )
        replication.sslRootCert = database.sslRootCert
        replication.sslCert = database.sslCert
        replication.sslKey = database.sslKey
        return replication
    }

    /// An ordinary (non-replication) libpq connection string; values quoted for libpq.
    static func conninfo(
        _ database: OutboxConfiguration.Database, user: String? = nil, applicationName: String = "cdc-relay-monitor", options: String? = nil
    ) -> String {
        var pairs: [(key: String, value: String)] = [
            ("host", database.host), ("port", String(database.port)), ("user", user ?? database.username),
            ("dbname", database.database), ("connect_timeout", "10"), ("application_name", applicationName),
        ] + database.libpqTLSParameters
        if let options { pairs.append(("options", options)) }
        if let password = database.password { pairs.append(("password", password)) }
        return LibPQConninfo.make(pairs)
    }
}
