import Foundation
import Logging

/// One configurable value: its dotted path, how its environment variable is named, and how a
/// textual value is parsed, validated and stored.
public struct ConfigurationKey: Sendable {
    public let path: String
    /// Extra environment variable names accepted for compatibility with the seed (`DB_PASSWORD`).
    public let environmentAliases: [String]
    public let isSecret: Bool
    let apply: @Sendable (inout OutboxConfiguration, String) throws(ConfigurationError) -> Void
    let read: @Sendable (OutboxConfiguration) -> String

    /// `database.port` → `DATABASE_PORT`.
    public var environmentName: String {
        path.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    public var environmentNames: [String] { [environmentName] + environmentAliases }

    public static func named(_ path: String) -> ConfigurationKey? {
        all.first { $0.path == path }
    }

    /// Former spellings of keys, accepted in files and flags.
    static let pathAliases: [String: String] = [
        "database.user": "database.username",
        "database.name": "database.database",
        "database.dbname": "database.database",
        "database.sslmode": "database.ssl_mode",
        "database.sslrootcert": "database.ssl_root_cert",
        "database.sslcert": "database.ssl_cert",
        "database.sslkey": "database.ssl_key",
        "pulsar.url": "pulsar.uri",
        "pulsar.topic": "pulsar.topic_name",
    ]

    public static let all: [ConfigurationKey] = [
        .string("server.host", \.server.host),
        .integer("server.port", \.server.port, 1...65535),
        .integer("server.event_loop_threads", \.server.eventLoopThreads, 0...1024),
        .seconds("server.header_timeout_seconds", \.server.headerTimeout, 1...3600),
        .seconds("server.body_timeout_seconds", \.server.bodyTimeout, 1...3600),
        .seconds("server.idle_timeout_seconds", \.server.idleTimeout, 1...3600),
        .integer("server.max_connections", \.server.maxConnections, 1...1_000_000),
        .integer("server.max_header_bytes", \.server.maxHeaderBytes, 1024...(1 << 20)),
        .string("database.host", \.database.host),
        .integer("database.port", \.database.port, 1...65535),
        .string("database.username", \.database.username),
        .optionalString("database.password", \.database.password, secret: true, aliases: ["DB_PASSWORD"]),
        .string("database.database", \.database.database),
        .choice("database.ssl_mode", \.database.sslMode),
        .optionalString("database.ssl_root_cert", \.database.sslRootCert),
        .optionalString("database.ssl_cert", \.database.sslCert),
        .optionalString("database.ssl_key", \.database.sslKey),
        .integer("database.pool_size", \.database.poolSize, 1...1000),
        .string("pulsar.uri", \.pulsar.uri, validate: ConfigurationValidation.pulsarURI),
        .string("pulsar.topic_name", \.pulsar.topicName, validate: ConfigurationValidation.topic),
        .optionalString("pulsar.token", \.pulsar.token, secret: true),
        .optionalString("pulsar.token_file", \.pulsar.tokenFile),
        .optionalString("pulsar.tls_trust_certs_file", \.pulsar.tlsTrustCertificatesFile),
        .boolean("pulsar.tls_allow_insecure_connection", \.pulsar.tlsAllowInsecureConnection),
        .string("relay.slot_name", \.relay.slotName, validate: ConfigurationValidation.identifier),
        .string("relay.publication_name", \.relay.publicationName, validate: ConfigurationValidation.identifier),
        .integer("relay.metrics_port", \.relay.metricsPort, 1...65535),
        .optionalString("relay.replication_username", \.relay.replicationUsername),
        .integer("relay.max_in_flight", \.relay.maxInFlight, 1...100_000),
        .seconds("relay.status_interval_seconds", \.relay.statusInterval, 1...3600),
        .seconds("relay.shutdown_timeout_seconds", \.relay.shutdownTimeout, 1...3600),
        .choice("relay.invalid_event_policy", \.relay.invalidEventPolicy),
        .string("relay.dead_letter_topic", \.relay.deadLetterTopic, validate: ConfigurationValidation.fixedTopic),
        .integer("relay.max_event_bytes", \.relay.maxEventBytes, 1024...(1 << 30)),
        .string("relay.metrics_host", \.relay.metricsHost),
        .string("relay.table", \.relay.table, validate: ConfigurationValidation.tableName),
        .column("relay.columns.id", \.relay.columns.id, OutboxColumnMapping.idForms),
        .column("relay.columns.aggregate_type", \.relay.columns.aggregateType, OutboxColumnMapping.aggregateTypeForms),
        .column("relay.columns.aggregate_id", \.relay.columns.aggregateID, OutboxColumnMapping.aggregateIDForms),
        .column("relay.columns.event_type", \.relay.columns.eventType, OutboxColumnMapping.eventTypeForms),
        .column("relay.columns.payload", \.relay.columns.payload, OutboxColumnMapping.payloadForms),
        .column("relay.columns.created_at", \.relay.columns.createdAt, OutboxColumnMapping.createdAtForms),
        .column("relay.columns.headers", \.relay.columns.headers, OutboxColumnMapping.headersForms),
        .integer("api.worker_id", \.api.workerID, 0...1023),
        .seconds("api.idempotency_key_ttl_seconds", \.api.idempotencyKeyTTL, 1...(365 * 24 * 3600)),
        .integer("api.max_body_bytes", \.api.maxBodyBytes, 1024...(64 * 1024 * 1024)),
        .boolean("api.migrate_on_start", \.api.migrateOnStart),
        .integer("api.create_batch_size", \.api.createBatchSize, 1...1000),
        .integer("api.create_batch_concurrency", \.api.createBatchConcurrency, 1...1000),
        .duration("outbox.retention", \.outbox.retention, .zero ... .seconds(3650 * 86_400)),
        .duration("outbox.retention_margin", \.outbox.retentionMargin, .zero ... .seconds(365 * 86_400)),
        .duration("outbox.partition_interval", \.outbox.partitionInterval, .seconds(1) ... .seconds(31 * 86_400)),
        .string("projector.subscription", \.projector.subscription, validate: ConfigurationValidation.subscription),
        .optionalString("projector.topic", \.projector.topic, validate: ConfigurationValidation.fixedTopic),
        .choice("projector.subscription_type", \.projector.subscriptionType),
        .integer("projector.metrics_port", \.projector.metricsPort, 1...65535),
        .string("projector.metrics_host", \.projector.metricsHost),
        .seconds("inbox.retention_seconds", \.inbox.retention, 60...(3650 * 24 * 3600)),
        .integer("inbox.max_redeliveries", \.inbox.maxRedeliveries, 0...1000),
        .integer("inbox.redelivery_delay_ms", \.inbox.redeliveryDelayMilliseconds, 1...60_000),
        .integer("inbox.lanes", \.inbox.lanes, 1...256),
        .integer("inbox.max_batch", \.inbox.maxBatch, 1...10_000),
        .integer("inbox.max_in_flight", \.inbox.maxInFlight, 1...100_000),
        .logLevel("log.level", \.log.level),
    ]
}

// MARK: - Key builders

extension ConfigurationKey {
    private static func invalid(_ path: String, _ reason: String) -> ConfigurationError {
        ConfigurationError(code: .invalidValue, key: path, reason: reason)
    }

    static func string(
        _ path: String,
        _ field: WritableKeyPath<OutboxConfiguration, String> & Sendable,
        validate: (@Sendable (String) -> String?)? = nil
    ) -> ConfigurationKey {
        ConfigurationKey(path: path, environmentAliases: [], isSecret: false, apply: { config, raw throws(ConfigurationError) in
            let value = raw.trimmingCharacters(in: .whitespaces)
            guard !value.isEmpty else {
                throw ConfigurationError(code: .missingValue, key: path, reason: "a value is required")
            }
            if let problem = validate?(value) { throw invalid(path, problem) }
            config[keyPath: field] = value
        }, read: { $0[keyPath: field] })
    }

    static func optionalString(
        _ path: String,
        _ field: WritableKeyPath<OutboxConfiguration, String?> & Sendable,
        secret: Bool = false,
        aliases: [String] = [],
        validate: (@Sendable (String) -> String?)? = nil
    ) -> ConfigurationKey {
        ConfigurationKey(path: path, environmentAliases: aliases, isSecret: secret, apply: { config, raw throws(ConfigurationError) in
            // Secrets keep surrounding spaces; an empty value means "not set".
            let value = secret ? raw : raw.trimmingCharacters(in: .whitespaces)
            if !value.isEmpty, let problem = validate?(value) { throw invalid(path, problem) }
            config[keyPath: field] = value.isEmpty ? nil : value
        }, read: { $0[keyPath: field] ?? "" })
    }

    static func integer(
        _ path: String,
        _ field: WritableKeyPath<OutboxConfiguration, Int> & Sendable,
        _ range: ClosedRange<Int>
    ) -> ConfigurationKey {
        ConfigurationKey(path: path, environmentAliases: [], isSecret: false, apply: { config, raw throws(ConfigurationError) in
            let text = raw.trimmingCharacters(in: .whitespaces)
            guard let value = Int(text) else { throw invalid(path, "'\(text)' is not an integer") }
            guard range.contains(value) else {
                throw invalid(path, "\(value) is outside \(range.lowerBound)…\(range.upperBound)")
            }
            config[keyPath: field] = value
        }, read: { String($0[keyPath: field]) })
    }

    static func seconds(
        _ path: String,
        _ field: WritableKeyPath<OutboxConfiguration, Duration> & Sendable,
        _ range: ClosedRange<Int>
    ) -> ConfigurationKey {
        ConfigurationKey(path: path, environmentAliases: [], isSecret: false, apply: { config, raw throws(ConfigurationError) in
            let text = raw.trimmingCharacters(in: .whitespaces)
            guard let value = Int(text) else { throw invalid(path, "'\(text)' is not a whole number of seconds") }
            guard range.contains(value) else {
                throw invalid(path, "\(value) s is outside \(range.lowerBound)…\(range.upperBound) s")
            }
            config[keyPath: field] = .seconds(value)
        }, read: { String($0[keyPath: field].components.seconds) })
    }

    /// A duration such as `7d`, `10m`, `30s` or `0` (``DurationText``).
    static func duration(
        _ path: String,
        _ field: WritableKeyPath<OutboxConfiguration, Duration> & Sendable,
        _ range: ClosedRange<Duration>
    ) -> ConfigurationKey {
        ConfigurationKey(path: path, environmentAliases: [], isSecret: false, apply: { config, raw throws(ConfigurationError) in
            switch DurationText.parse(raw) {
            case .failure(let problem): throw invalid(path, problem.reason)
            case .success(let value):
                guard range.contains(value) else {
                    throw invalid(path, "\(DurationText.format(value)) is outside \(DurationText.format(range.lowerBound))…\(DurationText.format(range.upperBound))")
                }
                config[keyPath: field] = value
            }
        }, read: { DurationText.format($0[keyPath: field]) })
    }

    /// An outbox column, a `'constant'` or empty (absent), as the field's forms allow.
    static func column(
        _ path: String,
        _ field: WritableKeyPath<OutboxConfiguration, OutboxColumnSource> & Sendable,
        _ forms: OutboxColumnSource.Forms
    ) -> ConfigurationKey {
        ConfigurationKey(path: path, environmentAliases: [], isSecret: false, apply: { config, raw throws(ConfigurationError) in
            switch OutboxColumnSource.parse(raw, forms: forms) {
            case .success(let source): config[keyPath: field] = source
            case .failure(let problem): throw invalid(path, problem.reason)
            }
        }, read: { $0[keyPath: field].description })
    }

    static func boolean(
        _ path: String,
        _ field: WritableKeyPath<OutboxConfiguration, Bool> & Sendable
    ) -> ConfigurationKey {
        ConfigurationKey(path: path, environmentAliases: [], isSecret: false, apply: { config, raw throws(ConfigurationError) in
            switch raw.trimmingCharacters(in: .whitespaces).lowercased() {
            case "true", "yes", "on", "1": config[keyPath: field] = true
            case "false", "no", "off", "0": config[keyPath: field] = false
            default: throw invalid(path, "'\(raw)' is not a boolean (true or false)")
            }
        }, read: { String($0[keyPath: field]) })
    }

    static func choice<Choice: RawRepresentable & CaseIterable & Sendable>(
        _ path: String,
        _ field: WritableKeyPath<OutboxConfiguration, Choice> & Sendable
    ) -> ConfigurationKey where Choice.RawValue == String {
        ConfigurationKey(path: path, environmentAliases: [], isSecret: false, apply: { config, raw throws(ConfigurationError) in
            let text = raw.trimmingCharacters(in: .whitespaces).lowercased()
            guard let value = Choice(rawValue: text) else {
                let allowed = Choice.allCases.map(\.rawValue).joined(separator: ", ")
                throw invalid(path, "'\(raw)' is not one of \(allowed)")
            }
            config[keyPath: field] = value
        }, read: { $0[keyPath: field].rawValue })
    }

    static func logLevel(
        _ path: String,
        _ field: WritableKeyPath<OutboxConfiguration, Logger.Level> & Sendable
    ) -> ConfigurationKey {
        ConfigurationKey(path: path, environmentAliases: [], isSecret: false, apply: { config, raw throws(ConfigurationError) in
            let text = raw.trimmingCharacters(in: .whitespaces).lowercased()
            guard let level = Logger.Level(rawValue: text == "warn" ? "warning" : text) else {
                let allowed = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
                throw invalid(path, "'\(raw)' is not one of \(allowed)")
            }
            config[keyPath: field] = level
        }, read: { $0[keyPath: field].rawValue })
    }
}
