extension PulsarClient {
    /// Subscribes to `topic` and returns once the broker accepted the subscription and the first
    /// FLOW went out. Partitioned topics are not supported by the consumer yet (typed error).
    public func subscribe(topic: String, subscription: String, options: ConsumerOptions = .init()) async throws -> PulsarConsumer {
        try checkOpen()
        try options.validate()
        guard !topic.isEmpty else { throw PulsarClientError(code: .invalidConfiguration, message: "empty topic name") }
        guard !subscription.isEmpty else { throw PulsarClientError(code: .invalidConfiguration, message: "empty subscription name") }
        let partitions = try await partitionCount(topic: topic)
        guard partitions == 0 else {
            throw PulsarConsumerError(
                code: .unsupportedFeature,
                detail: "\(topic) has \(partitions) partitions; subscribe to each partition topic (\(topic)-partition-N) instead"
            )
        }
        let consumer = PulsarConsumer(
            client: self,
            topic: topic,
            subscription: subscription,
            options: options,
            consumerID: nextConsumerID(),
            logger: logger
        )
        try await consumer.start()
        return consumer
    }
}
