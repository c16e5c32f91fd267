/// A frame that cannot be decoded. The connection that received it can no longer trust its byte
/// stream and is closed with this error.
public struct PulsarFrameError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case truncated, badMagic, badChecksum, oversized, garbage, invalidCommand, invalidMetadata, encodingFailed
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A length field points past the end of the frame.
        public static let truncated = Code(.truncated)
        /// The payload section does not start with 0x0e01 (after optional 0x0e02 broker metadata).
        public static let badMagic = Code(.badMagic)
        /// The CRC32C in the frame does not match its metadata and payload.
        public static let badChecksum = Code(.badChecksum)
        /// The frame's total size exceeds the negotiated maximum.
        public static let oversized = Code(.oversized)
        /// Sizes that cannot describe any frame (e.g. a total size smaller than the command size field).
        public static let garbage = Code(.garbage)
        /// The BaseCommand protobuf could not be parsed or lacks required fields.
        public static let invalidCommand = Code(.invalidCommand)
        /// The MessageMetadata (or broker entry metadata) protobuf could not be parsed.
        public static let invalidMetadata = Code(.invalidMetadata)
        /// A command could not be serialized (missing required field: a bug on our side).
        public static let encodingFailed = Code(.encodingFailed)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// What exactly was wrong, for logs.
    public var detail: String

    public init(code: Code, detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "PulsarFrameError(\(code): \(detail))" }

    static func truncated(_ detail: String) -> Self { .init(code: .truncated, detail: detail) }
    static func garbage(_ detail: String) -> Self { .init(code: .garbage, detail: detail) }
}
