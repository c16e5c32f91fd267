/// A failure specific to consuming: a message that cannot be decoded, an acknowledgement that is not
/// allowed, a consumer that is closed. Connection-level failures use `PulsarClientError`.
public struct PulsarConsumerError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case unsupportedCompression
            case decompressionFailed
            case malformedBatch
            case malformedMetadata
            case invalidOptions
            case cumulativeAckNotAllowed
            case consumerClosed
            case subscribeFailed
            case unsupportedFeature
            case concurrentReceive
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The message uses a compression codec this client cannot decode.
        public static let unsupportedCompression = Code(.unsupportedCompression)
        /// The codec rejected the compressed bytes, or they did not inflate to the announced size.
        public static let decompressionFailed = Code(.decompressionFailed)
        /// A batch payload whose per-message framing is inconsistent (sizes, counts, metadata).
        public static let malformedBatch = Code(.malformedBatch)
        /// Message metadata that contradicts itself (e.g. a negative batch count).
        public static let malformedMetadata = Code(.malformedMetadata)
        /// `ConsumerOptions` out of range.
        public static let invalidOptions = Code(.invalidOptions)
        /// Cumulative acknowledgement on a Shared or Key_Shared subscription.
        public static let cumulativeAckNotAllowed = Code(.cumulativeAckNotAllowed)
        /// The consumer was closed (by the application or for good by the broker).
        public static let consumerClosed = Code(.consumerClosed)
        /// The broker refused the subscription.
        public static let subscribeFailed = Code(.subscribeFailed)
        /// A message feature this client does not implement (e.g. chunking).
        public static let unsupportedFeature = Code(.unsupportedFeature)
        /// A second task called `next()` while another one was still waiting for a message.
        public static let concurrentReceive = Code(.concurrentReceive)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The message the failure concerns, when there is one; acknowledge it to skip it for good.
    public var messageID: PulsarMessageID?
    /// Human-readable detail (codec name, offsets, broker message). Never contains payload bytes.
    public var detail: String

    public init(code: Code, messageID: PulsarMessageID? = nil, detail: String) {
        self.code = code
        self.messageID = messageID
        self.detail = detail
    }

    public var description: String {
        var text = "PulsarConsumerError(\(code)): \(detail)"
        if let messageID { text += " [message \(messageID)]" }
        return text
    }
}
