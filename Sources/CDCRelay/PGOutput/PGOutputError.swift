/// A pgoutput message that does not decode. `offset` is the byte offset inside the message
/// where decoding stopped; `messageTag` is the message's first byte when there was one.
public struct PGOutputError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case emptyMessage, unknownMessageTag, truncated, negativeLength, missingStringTerminator
            case invalidUTF8, unknownTupleKind, unexpectedTupleMarker, trailingBytes
            case unsupportedInProtocolVersion, unexpectedStreamState
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        public static let emptyMessage = Code(.emptyMessage)
        public static let unknownMessageTag = Code(.unknownMessageTag)
        /// The message ends before a field it announces.
        public static let truncated = Code(.truncated)
        /// A count or length field is negative.
        public static let negativeLength = Code(.negativeLength)
        /// A C string runs to the end of the message without its NUL.
        public static let missingStringTerminator = Code(.missingStringTerminator)
        public static let invalidUTF8 = Code(.invalidUTF8)
        /// A TupleData column kind other than 'n', 'u', 't' or 'b'.
        public static let unknownTupleKind = Code(.unknownTupleKind)
        /// Insert/Update/Delete without the 'N', 'K' or 'O' marker where one is required.
        public static let unexpectedTupleMarker = Code(.unexpectedTupleMarker)
        /// Bytes left over after a complete message.
        public static let trailingBytes = Code(.trailingBytes)
        /// A message that the negotiated `proto_version` does not allow (e.g. streaming in v1).
        public static let unsupportedInProtocolVersion = Code(.unsupportedInProtocolVersion)
        /// Stream Start inside a streamed block, or Stream Stop outside one.
        public static let unexpectedStreamState = Code(.unexpectedStreamState)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var offset: Int
    public var messageTag: UInt8?
    public var detail: String

    public init(code: Code, offset: Int, messageTag: UInt8?, detail: String = "") {
        self.code = code
        self.offset = offset
        self.messageTag = messageTag
        self.detail = detail
    }

    public var description: String {
        let tag = messageTag.map { "'\(Character(Unicode.Scalar($0)))'" } ?? "none"
        return "PGOutputError(\(code), tag \(tag), offset \(offset))" + (detail.isEmpty ? "" : ": \(detail)")
    }
}
