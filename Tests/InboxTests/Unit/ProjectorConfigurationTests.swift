import CatalogProjector
import OutboxCore
import Testing

@testable import Inbox

@Suite struct ProjectorConfigurationTests {
    func load(_ environment: [String: String], _ overrides: [String] = []) throws(ConfigurationError) -> OutboxConfiguration {
        try ConfigurationLoader(environment: environment).load(file: nil, overrides: overrides)
    }

    @Test func defaults() throws {
        let configuration = try load([:])
        #expect(configuration.projector.subscription == "catalog-projector")
        #expect(configuration.projector.metricsPort == 9465)
        #expect(configuration.projector.subscriptionType == .failover)
        #expect(configuration.projector.effectiveTopic(pulsar: configuration.pulsar) == configuration.pulsar.topicName)
        #expect(configuration.inbox.retention == .seconds(14 * 24 * 3600))
        let settings = ProjectorApplication.inboxSettings(configuration)
        #expect(settings.topic == "persistent://public/default/products")
        #expect(settings.deadLetterTopic == "persistent://public/default/products-catalog-projector-DLQ")
        #expect(settings.machine.maxRedeliveries == 5)
        #expect(settings.subscriptionType == .failover)
    }

    @Test func environmentAndFlagsOverride() throws {
        let configuration = try load(
            ["PROJECTOR_TOPIC": "persistent://public/default/other", "INBOX_MAX_REDELIVERIES": "2", "PROJECTOR_SUBSCRIPTION_TYPE": "key_shared"],
            ["inbox.lanes=3", "projector.subscription=catalog-b"])
        let settings = ProjectorApplication.inboxSettings(configuration)
        #expect(settings.topic == "persistent://public/default/other")
        #expect(settings.subscription == "catalog-b")
        #expect(settings.subscriptionType == .keyShared)
        #expect(settings.machine.maxRedeliveries == 2)
        #expect(settings.lanes == 3)
    }

    @Test func badValuesAreOneLineErrorsNamingTheKey() {
        for (name, value, key) in [
            ("INBOX_LANES", "0", "inbox.lanes"), ("PROJECTOR_SUBSCRIPTION", "has space", "projector.subscription"),
            ("PROJECTOR_TOPIC", "persistent://public/default/{aggregate_type}", "projector.topic"),
            ("PROJECTOR_SUBSCRIPTION_TYPE", "shared", "projector.subscription_type"), ("INBOX_RETENTION_SECONDS", "abc", "inbox.retention_seconds"),
        ] {
            do {
                _ = try load([name: value])
                Issue.record("\(name)=\(value) was accepted")
            } catch {
                #expect(error.description.contains(key), "\(error.description)")
                #expect(!error.description.contains("\n"))
            }
        }
    }

    @Test func productCreatedPayloadAsTheAPIWritesIt() throws {
        let payload = Array(#"{"aggregate_id":"42","aggregate_type":"product","data":{"category":"lighting","created_at":"2026-01-01T00:00:00.000Z","description":null,"id":"42","name":"Desk lamp","price":39.9,"stock":12,"updated_at":"2026-01-01T00:00:00.000Z"},"event_id":"7","event_type":"product.created","occurred_at":"2026-01-01T00:00:00.000Z"}"#.utf8)
        let event = try ProductCreated(payload: payload)
        #expect(event == ProductCreated(productID: 42, name: "Desk lamp", category: "lighting", price: "39.9", stock: 12))
        #expect(ProductCreated.isProductCreated(properties: [:], payload: payload))
        #expect(!ProductCreated.isProductCreated(properties: ["event_type": "product.deleted"], payload: payload))
    }

    @Test func malformedPayloadsAreTypedErrors() {
        for text in ["not json", #"{"data":{"id":"x"}}"#, #"{"data":{"id":"1","name":"a","category":"c","price":"1","stock":1}}"#, #"{"data":{"id":"1","name":"a","category":"c","price":1,"stock":1.5}}"#] {
            #expect(throws: ProductCreated.DecodeError.self) { try ProductCreated(payload: Array(text.utf8)) }
        }
    }
}
