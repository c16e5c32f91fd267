import Logging

/// The one configuration shape shared by `products-api` and `cdc-relay`.
///
/// Values come, in rising precedence, from the defaults below, a YAML file (the seed's
/// `config.yaml` keys), environment variables named after the key path (`DATABASE_PORT`, plus the
/// aliases `DB_PASSWORD` and `PULSAR_TOKEN`) and `--set key=value` flags. See `ConfigurationKey.all`.
public struct OutboxConfiguration: Sendable, Equatable {
    public struct Server: Sendable, Equatable {
        public var host: String = "0.0.0.0"
        public var port: Int = 3000
        /// Event-loop threads serving HTTP, Postgres and all async work; 0: one per CPU core.
        public var eventLoopThreads: Int = 0
        /// From a request's first byte (or the accepted connection) until its head is read; then 408.
        public var headerTimeout: Duration = .seconds(10)
        /// From the end of a request head until the end of its body; then 408.
        public var bodyTimeout: Duration = .seconds(30)
        /// A kept-alive connection without a request in progress is closed after this.
        public var idleTimeout: Duration = .seconds(60)
        /// Open connections; a connection over it is answered 503 and closed.
        public var maxConnections: Int = 1024
        /// Request line plus header fields; a larger head is answered 431.
        public var maxHeaderBytes: Int = 16 * 1024
    }

    public struct Database: Sendable, Equatable {
        public var host: String = "127.0.0.1"
        public var port: Int = 5432
        public var username: String = "app"
        public var password: String? = nil
        public var database: String = "app"
        public var sslMode: DatabaseSSLMode = .disable
        /// CA certificates (PEM) that `verify-ca` / `verify-full` trust; nil: the system's roots.
        public var sslRootCert: String? = nil
        /// Client certificate and key (PEM) for certificate authentication (mTLS).
        public var sslCert: String? = nil
        public var sslKey: String? = nil
        public var poolSize: Int = 20
    }

    public struct Pulsar: Sendable, Equatable {
        public var uri: String = "pulsar://127.0.0.1:6650"
        /// A single topic, or a template containing `{aggregate_type}`.
        public var topicName: String = "persistent://public/default/products"
        public var token: String? = nil
        /// A file holding the token, read on every connect and AUTH_CHALLENGE; wins over `token`.
        public var tokenFile: String? = nil
        public var tlsTrustCertificatesFile: String? = nil
        public var tlsAllowInsecureConnection: Bool = false
    }

    public struct Relay: Sendable, Equatable {
        public var slotName: String = "outbox_relay"
        public var publicationName: String = "outbox_pub"
        public var metricsPort: Int = 9464
        /// Role used for the replication connection; `nil` means `database.username`.
        public var replicationUsername: String? = nil
        public var maxInFlight: Int = 1000
        public var statusInterval: Duration = .seconds(10)
        public var shutdownTimeout: Duration = .seconds(30)
        /// What happens to an outbox row that cannot become a message.
        public var invalidEventPolicy: InvalidEventPolicy = .deadLetter
        /// Where `dead_letter` sends such rows (a fixed topic, not a template).
        public var deadLetterTopic: String = "persistent://public/default/outbox-dead-letter"
        /// Events with a larger payload are invalid (dead-lettered without their payload).
        public var maxEventBytes: Int = 64 * 1024 * 1024
        /// Address of the metrics and health server; loopback unless set (0.0.0.0 in a container).
        public var metricsHost: String = "127.0.0.1"
        /// The outbox table the relay streams (`name` or `schema.name`; `public` when unqualified).
        public var table: String = "outbox"
        /// Which of its columns hold the event's fields (`relay.columns.*`).
        public var columns = OutboxColumnMapping()

        /// The role the relay's replication connection logs in as.
        public func effectiveReplicationUsername(database: Database) -> String {
            replicationUsername ?? database.username
        }
    }

    public struct APISettings: Sendable, Equatable {
        /// Snowflake worker id, 0…1023; every running API instance needs its own.
        public var workerID: Int = 0
        public var idempotencyKeyTTL: Duration = .seconds(24 * 3600)
        public var maxBodyBytes: Int = 64 * 1024
        public var migrateOnStart: Bool = true
        /// Most products one create statement writes; 1 turns batching off.
        public var createBatchSize: Int = 100
        /// Create statements running at once; further creates queue and share the next one.
        public var createBatchConcurrency: Int = 1
    }

    /// The outbox table's lifecycle, maintained by the API that writes it (docs/outbox-lifecycle.md).
    public struct OutboxSettings: Sendable, Equatable {
        /// Rows are kept at least this long; 0: each row is deleted in the transaction that
        /// inserted it (the WAL still carries the insert).
        public var retention: Duration = .seconds(7 * 86_400)
        /// Rows newer than the relays' acknowledged commit time minus this are never dropped
        /// (the margin `cdc-relay recover` republishes from).
        public var retentionMargin: Duration = .seconds(600)
        /// Width of one outbox partition (a range of snowflake ids).
        public var partitionInterval: Duration = .seconds(86_400)
    }

    /// `catalog-projector`: what it consumes and where it serves `/health`, `/metrics`, `/catalog`.
    public struct Projector: Sendable, Equatable {
        public var subscription: String = "catalog-projector"
        /// nil: `pulsar.topic_name`.
        public var topic: String? = nil
        public var subscriptionType: ProjectorSubscriptionType = .failover
        public var metricsPort: Int = 9465
        public var metricsHost: String = "127.0.0.1"

        /// The topic the projector subscribes to.
        public func effectiveTopic(pulsar: Pulsar) -> String { topic ?? pulsar.topicName }
    }

    /// The Inbox library's settings (used by every consuming service).
    public struct InboxSettings: Sendable, Equatable {
        /// Inbox rows older than this are deleted.
        public var retention: Duration = .seconds(14 * 24 * 3600)
        /// Handler failures after the first before a message goes to `<topic>-<subscription>-DLQ`.
        public var maxRedeliveries: Int = 5
        /// First delay before a failed message is tried again (doubles up to 10 s).
        public var redeliveryDelayMilliseconds: Int = 200
        /// Independent per-key lanes (transactions running at once).
        public var lanes: Int = 8
        /// Most messages one transaction takes.
        public var maxBatch: Int = 500
        /// Messages received and not yet acknowledged.
        public var maxInFlight: Int = 2000
    }

    public struct LogSettings: Sendable, Equatable {
        public var level: Logger.Level = .info
    }

    public var server = Server()
    public var database = Database()
    public var pulsar = Pulsar()
    public var relay = Relay()
    public var api = APISettings()
    public var outbox = OutboxSettings()
    public var projector = Projector()
    public var inbox = InboxSettings()
    public var log = LogSettings()

    public init() {}
}

/// `dead_letter`: publish the row's columns to the dead-letter topic and go on.
/// `halt`: stop at the row (health `failed`) until an operator fixes the cause.
public enum InvalidEventPolicy: String, Sendable, Equatable, CaseIterable {
    case deadLetter = "dead_letter"
    case halt
}

/// Both keep one key's messages on one consumer, in order. `failover` is the default because
/// pulsar-lite (the local broker) stops delivering on Key_Shared after a consumer left with
/// unacknowledged messages (see docs/inbox.md).
public enum ProjectorSubscriptionType: String, Sendable, Equatable, CaseIterable {
    case failover
    case keyShared = "key_shared"
}

/// The libpq meaning everywhere (the API's pool, the relay's libpq connections): `prefer` and
/// `require` encrypt without verifying the server; `verify-ca` checks the certificate chain
/// against `database.ssl_root_cert`; `verify-full` also checks the host name. Use `verify-full`.
public enum DatabaseSSLMode: String, Sendable, Equatable, CaseIterable {
    case disable
    case prefer
    case require
    case verifyCA = "verify-ca"
    case verifyFull = "verify-full"

    /// Encryption is mandatory (no plaintext fallback).
    public var requiresEncryption: Bool { self != .disable && self != .prefer }
}

extension OutboxConfiguration: CustomStringConvertible {
    /// Every key with its value; secrets are masked so the line is safe to log.
    public var description: String {
        ConfigurationKey.all
            .map { key in "\(key.path)=\(key.isSecret ? (key.read(self).isEmpty ? "" : "***") : key.read(self))" }
            .joined(separator: " ")
    }
}
