import NIOCore

/// A 'w' message: WAL data, here one pgoutput message in `data`.
///
/// For logical walsenders `walStart`/`walEnd` are 0 on every message but the last of a
/// transaction: track progress from `Commit.endLSN`, not from this header.
public struct XLogData: Sendable, Hashable {
    public var walStart: LSN
    public var walEnd: LSN
    /// Server clock, microseconds since 2000-01-01 UTC.
    public var sendTime: Int64
    public var data: ByteBuffer

    public init(walStart: LSN, walEnd: LSN, sendTime: Int64, data: ByteBuffer) {
        self.walStart = walStart
        self.walEnd = walEnd
        self.sendTime = sendTime
        self.data = data
    }
}

/// A 'k' message: the server's current WAL end; answer at once when `replyRequested`.
public struct PrimaryKeepalive: Sendable, Hashable {
    public var walEnd: LSN
    public var sendTime: Int64
    public var replyRequested: Bool

    public init(walEnd: LSN, sendTime: Int64, replyRequested: Bool) {
        self.walEnd = walEnd
        self.sendTime = sendTime
        self.replyRequested = replyRequested
    }
}

/// One message of the CopyBoth replication stream, server to client.
public enum ReplicationMessage: Sendable, Hashable {
    case xLogData(XLogData)
    case keepalive(PrimaryKeepalive)
}

extension ReplicationMessage {
    /// Decodes one CopyData payload.
    ///
    /// Returns nil for a message type this client does not know (the protocol allows new ones:
    /// callers skip them); a known type with a wrong length is a `protocolViolation`.
    public static func decode(_ buffer: inout ByteBuffer) throws(ReplicationError) -> ReplicationMessage? {
        guard let tag = buffer.readInteger(as: UInt8.self) else {
            throw ReplicationError(code: .protocolViolation, message: "empty CopyData message")
        }
        switch tag {
        case UInt8(ascii: "w"):
            guard let walStart = buffer.readInteger(as: UInt64.self),
                  let walEnd = buffer.readInteger(as: UInt64.self),
                  let sendTime = buffer.readInteger(as: Int64.self)
            else {
                throw ReplicationError(
                    code: .protocolViolation,
                    message: "XLogData shorter than its 25-byte header"
                )
            }
            let data = buffer.readSlice(length: buffer.readableBytes) ?? ByteBuffer()
            return .xLogData(XLogData(walStart: LSN(walStart), walEnd: LSN(walEnd), sendTime: sendTime, data: data))
        case UInt8(ascii: "k"):
            guard buffer.readableBytes == 17,
                  let walEnd = buffer.readInteger(as: UInt64.self),
                  let sendTime = buffer.readInteger(as: Int64.self),
                  let reply = buffer.readInteger(as: UInt8.self)
            else {
                throw ReplicationError(
                    code: .protocolViolation,
                    message: "primary keepalive has \(buffer.readableBytes + 1) bytes, expected 18"
                )
            }
            guard reply <= 1 else {
                throw ReplicationError(code: .protocolViolation, message: "keepalive replyRequested is \(reply)")
            }
            return .keepalive(PrimaryKeepalive(walEnd: LSN(walEnd), sendTime: sendTime, replyRequested: reply == 1))
        default:
            return nil
        }
    }
}
