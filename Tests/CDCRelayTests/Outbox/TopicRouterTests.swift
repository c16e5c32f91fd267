import Testing

@testable import CDCRelay

@Suite struct TopicRouterTests {
    static func event(aggregateType: String) -> OutboxEvent {
        OutboxEvent(
            id: 1, aggregateType: aggregateType, aggregateID: "a", eventType: "e", payload: [], headers: [:],
            createdAt: OutboxTimestamp(microsecondsSinceEpoch: 0))
    }

    @Test func fixedTopic() throws {
        let router = try TopicRouter(topicName: "persistent://public/default/products")
        #expect(router.isFixed)
        #expect(try router.topic(for: Self.event(aggregateType: "any thing/../x")) == "persistent://public/default/products")
    }

    @Test func templateSubstitutesAggregateType() throws {
        let router = try TopicRouter(topicName: "persistent://public/default/{aggregate_type}-events")
        #expect(try router.topic(for: Self.event(aggregateType: "product")) == "persistent://public/default/product-events")
        #expect(try router.topic(for: Self.event(aggregateType: "Order_v2.1")) == "persistent://public/default/Order_v2.1-events")
    }

    @Test(arguments: ["", "a/b", "a b", "ünï", "x?y", String(repeating: "a", count: 201)])
    func invalidSubstitutionIsAnError(_ aggregateType: String) throws {
        let router = try TopicRouter(topicName: "persistent://public/default/{aggregate_type}")
        #expect(throws: OutboxMappingError(code: .invalidTopic, column: "aggregate_type", detail: aggregateType)) {
            try router.topic(for: Self.event(aggregateType: aggregateType))
        }
    }

    @Test(arguments: [
        "", "http://public/default/x", "persistent://public/x", "persistent://public//x", "persistent://a/b/c/d",
        "persistent://public/default/{aggregate_type}{aggregate_type}", "has space",
    ])
    func invalidConfigurationIsRejected(_ topic: String) {
        #expect(throws: OutboxMappingError.self) { try TopicRouter(topicName: topic) }
    }

    @Test func bareTopicNameIsAccepted() throws {
        #expect(try TopicRouter(topicName: "products").topic(for: Self.event(aggregateType: "x")) == "products")
    }
}
