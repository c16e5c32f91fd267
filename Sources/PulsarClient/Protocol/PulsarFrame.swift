import NIOCore

/// One decoded Pulsar frame: a command, plus metadata and payload for SEND / MESSAGE.
public struct PulsarFrame: Sendable {
    public var command: Pulsar_Proto_BaseCommand
    public var payload: PulsarFramePayload?

    public init(command: Pulsar_Proto_BaseCommand, payload: PulsarFramePayload? = nil) {
        self.command = command
        self.payload = payload
    }
}

/// The payload section of a SEND or MESSAGE frame, already checksum-verified.
public struct PulsarFramePayload: Sendable {
    public var metadata: Pulsar_Proto_MessageMetadata
    /// Present only when the broker adds it (we never ask for it, but we skip it correctly).
    public var brokerEntryMetadata: Pulsar_Proto_BrokerEntryMetadata?
    /// The message bytes, or a batch, possibly compressed (see `metadata.compression`).
    public var body: ByteBuffer

    public init(metadata: Pulsar_Proto_MessageMetadata, brokerEntryMetadata: Pulsar_Proto_BrokerEntryMetadata? = nil, body: ByteBuffer) {
        self.metadata = metadata
        self.brokerEntryMetadata = brokerEntryMetadata
        self.body = body
    }
}

public enum PulsarFrameConstants {
    /// Marks the checksummed payload section.
    public static let magicCRC32C: UInt16 = 0x0e01
    /// Marks optional broker entry metadata before the payload section.
    public static let magicBrokerEntryMetadata: UInt16 = 0x0e02
    /// Message size limit until CONNECTED tells us the broker's.
    public static let defaultMaxMessageSize = 5 * 1024 * 1024
    /// Room for command and metadata on top of the message size limit.
    public static let framePadding = 10 * 1024
}
