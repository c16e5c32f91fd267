/// How producers and consumers plug into a `PulsarConnection`.
///
/// A consumer registers itself on the connection that serves its topic before sending SUBSCRIBE:
///
/// ```swift
/// let consumerID = client.nextConsumerID()
/// connection.registerConsumer(consumerID, handler: self)   // routes MESSAGE, CLOSE_CONSUMER,
///                                                           // ACTIVE_CONSUMER_CHANGE, REACHED_END_OF_TOPIC
/// let requestID = connection.nextRequestID()
/// _ = try await connection.request(PulsarCommands.subscribe(...requestID...), requestID: requestID)  // SUCCESS, or throws on ERROR / timeout
/// try connection.send(PulsarCommands.flow(consumerID: consumerID, permits: 1000))                    // fire-and-forget commands
/// ```
///
/// Handler methods run on the connection's event loop, in frame order, and must not block.
/// `connectionClosed` is called exactly once per registration when the connection goes away (the
/// registration is dropped at that point: register again on the next connection). A broker-sent
/// CLOSE_CONSUMER / CLOSE_PRODUCER also drops the registration (the TCP connection stays open).
protocol PulsarConsumerEventHandler: AnyObject, Sendable {
    /// A MESSAGE frame for this consumer; `payload` is checksum-verified (nil if the broker sent none).
    func handleMessage(_ command: Pulsar_Proto_CommandMessage, payload: PulsarFramePayload?)
    /// The broker closed this consumer (unload / failover); re-subscribe, possibly elsewhere.
    func handleCloseConsumer(_ command: Pulsar_Proto_CommandCloseConsumer)
    func handleActiveConsumerChange(_ command: Pulsar_Proto_CommandActiveConsumerChange)
    func handleReachedEndOfTopic(_ command: Pulsar_Proto_CommandReachedEndOfTopic)
    /// The connection is gone; every request on it has failed with `error`.
    func handleConnectionClosed(_ error: PulsarClientError)
}

/// The producer-side counterpart of `PulsarConsumerEventHandler`.
protocol PulsarProducerEventHandler: AnyObject, Sendable {
    func handleSendReceipt(_ command: Pulsar_Proto_CommandSendReceipt)
    func handleSendError(_ command: Pulsar_Proto_CommandSendError)
    func handleCloseProducer(_ command: Pulsar_Proto_CommandCloseProducer)
    func handleConnectionClosed(_ error: PulsarClientError)
}
