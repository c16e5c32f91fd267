import Foundation
import Testing
@testable import OutboxCore

@Suite struct ConfigurationLoaderTests {
    private func writeTemp(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-config-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func defaultsMatchTheDesign() throws {
        let config = try ConfigurationLoader(environment: [:]).load(file: nil, overrides: [])
        #expect(config.server.port == 3000)
        #expect(config.database.port == 5432)
        #expect(config.pulsar.topicName == "persistent://public/default/products")
        #expect(config.relay.slotName == "outbox_relay")
        #expect(config.relay.publicationName == "outbox_pub")
        #expect(config.relay.metricsPort == 9464)
        #expect(config.relay.maxInFlight == 1000)
    }

    @Test func seedFileIsRead() throws {
        let path = try writeTemp("""
            # seed config
            server:
              port: 3100
            database:
              host: db.internal   # comment after a value
              port: 5433
              username: shop
              database: "shopdb"
            pulsar:
              uri: "pulsar://broker:6650"
              topic_name: persistent://public/default/orders
              token: ''
            """)
        let config = try ConfigurationLoader(environment: [:]).load(file: path, overrides: [])
        #expect(config.server.port == 3100)
        #expect(config.database.host == "db.internal")
        #expect(config.database.port == 5433)
        #expect(config.database.username == "shop")
        #expect(config.database.database == "shopdb")
        #expect(config.pulsar.uri == "pulsar://broker:6650")
        #expect(config.pulsar.topicName == "persistent://public/default/orders")
        #expect(config.pulsar.token == nil)
    }

    @Test func flowMappingsAsInTheDesign() throws {
        let path = try writeTemp("""
            server:   { port: 3000 }
            database: { host: 127.0.0.1, port: 5432, username: app, database: app, ssl_mode: disable }
            relay:    { slot_name: outbox_relay, publication_name: outbox_pub, metrics_port: 9464 }
            """)
        let config = try ConfigurationLoader(environment: [:]).load(file: path, overrides: [])
        #expect(config.database.sslMode == .disable)
        #expect(config.relay.metricsPort == 9464)
    }

    @Test func precedenceIsDefaultsFileEnvironmentFlags() throws {
        let path = try writeTemp("database:\n  port: 5433\n  host: from-file\n")
        let env = ["DATABASE_PORT": "5434", "SERVER_PORT": "4000"]
        let config = try ConfigurationLoader(environment: env).load(file: path, overrides: ["database.port=5435"])
        #expect(config.database.port == 5435)
        #expect(config.database.host == "from-file")
        #expect(config.server.port == 4000)
    }

    @Test func seedSecretAliases() throws {
        let config = try ConfigurationLoader(environment: ["DB_PASSWORD": "s3cret", "PULSAR_TOKEN": "jwt"]).load(file: nil, overrides: [])
        #expect(config.database.password == "s3cret")
        #expect(config.pulsar.token == "jwt")
        let both = try ConfigurationLoader(environment: ["DB_PASSWORD": "alias", "DATABASE_PASSWORD": "canonical"]).load(file: nil, overrides: [])
        #expect(both.database.password == "canonical")
    }

    @Test func secretsAreMaskedInDescription() throws {
        let config = try ConfigurationLoader(environment: ["DB_PASSWORD": "s3cret", "PULSAR_TOKEN": "jwt-value"]).load(file: nil, overrides: [])
        #expect(!config.description.contains("s3cret"))
        #expect(!config.description.contains("jwt-value"))
        #expect(config.description.contains("database.password=***"))
    }

    @Test(arguments: [
        ("DATABASE_PORT", "abc", "database.port"),
        ("DATABASE_PORT", "70000", "database.port"),
        ("SERVER_PORT", "0", "server.port"),
        ("PULSAR_URI", "http://x:1", "pulsar.uri"),
        ("PULSAR_URI", "pulsar://nohost", "pulsar.uri"),
        ("PULSAR_TOPIC_NAME", "persistent://public/default/{oops}", "pulsar.topic_name"),
        ("RELAY_SLOT_NAME", "Bad-Slot", "relay.slot_name"),
        ("DATABASE_SSL_MODE", "maybe", "database.ssl_mode"),
        ("API_WORKER_ID", "1024", "api.worker_id"),
        ("LOG_LEVEL", "loud", "log.level"),
        ("DATABASE_HOST", "  ", "database.host"),
        ("API_MIGRATE_ON_START", "perhaps", "api.migrate_on_start"),
    ])
    func invalidValuesNameTheKey(variable: String, value: String, key: String) throws {
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader(environment: [variable: value]).load(file: nil, overrides: [])
        }
        #expect(error?.key == key)
        #expect(error?.description.contains(key) == true)
        #expect(error?.description.contains(variable) == true)
        #expect(error?.description.contains("\n") == false)
    }

    @Test func unknownKeyInFileIsAnError() throws {
        let path = try writeTemp("databse:\n  port: 5432\n")
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader(environment: [:]).load(file: path, overrides: [])
        }
        #expect(error?.code == .unknownKey)
        #expect(error?.key == "databse.port")
        #expect(error?.source == "\(path):2")
    }

    @Test func malformedFlag() {
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader(environment: [:]).load(file: nil, overrides: ["database.port"])
        }
        #expect(error?.code == .malformedFlag)
    }

    @Test func missingFileIsAnError() {
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader(environment: [:]).load(file: "/nonexistent/config.yaml", overrides: [])
        }
        #expect(error?.code == .unreadableFile)
    }

    @Test func topicTemplateIsAccepted() throws {
        let config = try ConfigurationLoader(environment: ["PULSAR_TOPIC_NAME": "persistent://public/default/{aggregate_type}"]).load(file: nil, overrides: [])
        #expect(config.pulsar.topicName.contains("{aggregate_type}"))
    }

    @Test func everyKeyHasAnUppercaseEnvironmentName() {
        for key in ConfigurationKey.all {
            #expect(key.environmentName == key.path.uppercased().replacingOccurrences(of: ".", with: "_"))
        }
        #expect(Set(ConfigurationKey.all.map(\.path)).count == ConfigurationKey.all.count)
    }
}

@Suite struct OutboxRetentionConfigurationTests {
    @Test func defaults() throws {
        let config = try ConfigurationLoader(environment: [:]).load(file: nil, overrides: [])
        #expect(config.outbox.retention == .seconds(7 * 86_400))
        #expect(config.outbox.retentionMargin == .seconds(600))
        #expect(config.outbox.partitionInterval == .seconds(86_400))
    }

    @Test func durationsFromEnvironmentAndFlags() throws {
        let config = try ConfigurationLoader(environment: ["OUTBOX_RETENTION": "0", "OUTBOX_PARTITION_INTERVAL": "2s"])
            .load(file: nil, overrides: ["outbox.retention_margin=1500ms"])
        #expect(config.outbox.retention == .zero)
        #expect(config.outbox.partitionInterval == .seconds(2))
        #expect(config.outbox.retentionMargin == .milliseconds(1500))
        #expect(config.description.contains("outbox.retention=0 outbox.retention_margin=1500ms outbox.partition_interval=2s"))
    }

    @Test func durationText() throws {
        #expect(try DurationText.parse("7d").get() == .seconds(604_800))
        #expect(try DurationText.parse(" 10m ").get() == .seconds(600))
        #expect(try DurationText.parse("36h").get() == .seconds(129_600))
        #expect(DurationText.format(.seconds(90)) == "90s")
        #expect(DurationText.format(.seconds(86_400)) == "1d")
        for bad in ["", "7", "d", "-1s", "1.5h", "7 days", "10x"] {
            guard case .failure = DurationText.parse(bad) else {
                Issue.record("'\(bad)' parsed")
                continue
            }
        }
    }

    @Test func badValuesNameKeyAndSource() {
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader(environment: ["OUTBOX_RETENTION": "7 days"]).load(file: nil, overrides: [])
        }
        do {
            _ = try ConfigurationLoader(environment: [:]).load(file: nil, overrides: ["outbox.partition_interval=500ms"])
            Issue.record("a sub-second partition interval was accepted")
        } catch {
            #expect("\(error)".contains("outbox.partition_interval"))
            #expect("\(error)".contains("500ms is outside 1s"))
        }
    }
}
