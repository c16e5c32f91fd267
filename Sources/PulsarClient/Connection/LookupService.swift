/// Finds the broker that owns a topic (LOOKUP with redirects and proxying) and the partition count
/// (PARTITIONED_METADATA), both asked over the service-URL connection.
struct LookupService: Sendable {
    let serviceAddress: BrokerAddress
    let pool: ConnectionPool
    let operationTimeout: Duration
    let maxRedirects: Int

    struct Result: Sendable, Equatable {
        /// The broker that serves the topic.
        var logical: BrokerAddress
        /// Where to open TCP: the broker itself, or the service URL when it is a proxy.
        var physical: BrokerAddress
    }

    func partitionCount(topic: String) async throws(PulsarClientError) -> Int {
        let connection = try await pool.connection(logical: serviceAddress, physical: serviceAddress)
        let requestID = connection.nextRequestID()
        let response = try await connection.request(
            PulsarCommands.partitionedMetadata(topic: topic, requestID: requestID), requestID: requestID, timeout: operationTimeout)
        guard response.type == .partitionedMetadataResponse else {
            throw PulsarClientError(code: .protocolError, message: "\(response.type) in answer to PARTITIONED_METADATA")
        }
        let metadata = response.partitionMetadataResponse
        if metadata.hasResponse, metadata.response == .failed {
            throw PulsarClientError(code: .lookupFailed, message: "partitioned metadata for \(topic): \(metadata.message)",
                                    serverError: metadata.hasError ? metadata.error : nil)
        }
        return Int(metadata.partitions)
    }

    func lookup(topic: String) async throws(PulsarClientError) -> Result {
        var connection = try await pool.connection(logical: serviceAddress, physical: serviceAddress)
        var authoritative = false
        for _ in 0...maxRedirects {
            let requestID = connection.nextRequestID()
            let response = try await connection.request(
                PulsarCommands.lookup(topic: topic, requestID: requestID, authoritative: authoritative), requestID: requestID, timeout: operationTimeout)
            guard response.type == .lookupResponse else {
                throw PulsarClientError(code: .protocolError, message: "\(response.type) in answer to LOOKUP")
            }
            let answer = response.lookupTopicResponse
            guard answer.hasResponse, answer.response != .failed else {
                throw PulsarClientError(code: .lookupFailed, message: "lookup of \(topic) failed: \(answer.message)",
                                        serverError: answer.hasError ? answer.error : nil)
            }
            let next = try Self.target(answer, service: serviceAddress)
            switch answer.response {
            case .connect:
                return next
            default:  // .redirect
                authoritative = answer.authoritative
                connection = try await pool.connection(logical: next.logical, physical: next.physical)
            }
        }
        throw PulsarClientError(code: .tooManyRedirects, message: "lookup of \(topic) redirected more than \(maxRedirects) times")
    }

    /// The broker named in a lookup answer, reached directly or through the service URL (proxy).
    static func target(_ answer: Pulsar_Proto_CommandLookupTopicResponse, service: BrokerAddress) throws(PulsarClientError) -> Result {
        let url = service.useTLS ? answer.brokerServiceURLTls : answer.brokerServiceURL
        guard !url.isEmpty else {
            throw PulsarClientError(code: .lookupFailed, message: "lookup answer without a \(service.useTLS ? "TLS " : "")broker URL")
        }
        let logical = try BrokerAddress(url: url)
        return Result(logical: logical, physical: answer.proxyThroughServiceURL ? service : logical)
    }
}
