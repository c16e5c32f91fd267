import NIOCore

/// The client's 'r' message. Positions are "last byte + 1", so report a `Commit.endLSN` (or a
/// keepalive's `walEnd`) as is. The flushed position becomes the slot's `confirmed_flush_lsn`.
public struct StandbyStatusUpdate: Sendable, Hashable {
    public var written: LSN
    public var flushed: LSN
    public var applied: LSN
    /// Microseconds since 2000-01-01 UTC.
    public var clientTime: Int64
    public var replyRequested: Bool

    public static let encodedSize = 34

    public init(written: LSN, flushed: LSN, applied: LSN, clientTime: Int64 = PostgresTimestamp.now(), replyRequested: Bool = false) {
        self.written = written
        self.flushed = flushed
        self.applied = applied
        self.clientTime = clientTime
        self.replyRequested = replyRequested
    }

    /// Reports one position as written, flushed and applied.
    public init(confirming lsn: LSN, clientTime: Int64 = PostgresTimestamp.now(), replyRequested: Bool = false) {
        self.init(written: lsn, flushed: lsn, applied: lsn, clientTime: clientTime, replyRequested: replyRequested)
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "r"))
        buffer.writeInteger(written.value)
        buffer.writeInteger(flushed.value)
        buffer.writeInteger(applied.value)
        buffer.writeInteger(clientTime)
        buffer.writeInteger(replyRequested ? UInt8(1) : UInt8(0))
    }

    public func encoded() -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(Self.encodedSize)
        encode(into: &buffer)
        return buffer.readBytes(length: buffer.readableBytes) ?? []
    }
}
