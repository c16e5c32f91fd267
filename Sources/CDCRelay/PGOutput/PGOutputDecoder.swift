import NIOCore

/// Decodes pgoutput messages (the payload of each XLogData), one message per call.
///
/// Pure: no I/O. The only state is whether the stream is inside a streamed-transaction block
/// (between Stream Start and Stream Stop), because there every data message carries an xid.
/// Create a new decoder (or call `reset()`) for each replication connection.
public struct PGOutputDecoder: Sendable {
    public let protocolVersion: Int
    public private(set) var isInStreamedBlock = false

    public init(protocolVersion: Int) {
        self.protocolVersion = protocolVersion
    }

    public mutating func reset() {
        isInStreamedBlock = false
    }

    /// Decodes the one message that fills `buffer`. On success the buffer is consumed; leftover
    /// bytes after a complete message are an error (`trailingBytes`).
    public mutating func decode(_ buffer: inout ByteBuffer) throws(PGOutputError) -> PGOutputMessage {
        var reader = PGOutputReader(buffer: buffer)
        guard let tag = reader.buffer.readInteger(as: UInt8.self) else {
            throw reader.error(.emptyMessage)
        }
        reader.tag = tag
        let message = try decodeBody(tag: tag, &reader)
        guard reader.buffer.readableBytes == 0 else {
            throw reader.error(.trailingBytes, "\(reader.buffer.readableBytes) bytes after the message")
        }
        // Only a fully decoded message changes the streaming state.
        switch message {
        case .streamStart: isInStreamedBlock = true
        case .streamStop: isInStreamedBlock = false
        default: break
        }
        buffer = reader.buffer
        return message
    }

    private func require(version: Int, _ reader: PGOutputReader) throws(PGOutputError) {
        guard protocolVersion >= version else {
            throw reader.error(.unsupportedInProtocolVersion, "needs proto_version \(version), negotiated \(protocolVersion)")
        }
    }

    private func readStreamXid(_ reader: inout PGOutputReader) throws(PGOutputError) -> UInt32? {
        guard isInStreamedBlock else { return nil }
        return try reader.readUInt32("xid")
    }

    private func decodeBody(tag: UInt8, _ r: inout PGOutputReader) throws(PGOutputError) -> PGOutputMessage {
        switch tag {
        case UInt8(ascii: "B"):
            return .begin(BeginMessage(
                finalLSN: try r.readLSN("final LSN"),
                commitTimestamp: try r.readInt64("commit timestamp"),
                xid: try r.readUInt32("xid")
            ))
        case UInt8(ascii: "C"):
            return .commit(CommitMessage(
                flags: try r.readUInt8("flags"),
                commitLSN: try r.readLSN("commit LSN"),
                endLSN: try r.readLSN("end LSN"),
                commitTimestamp: try r.readInt64("commit timestamp")
            ))
        case UInt8(ascii: "O"):
            return .origin(OriginMessage(originLSN: try r.readLSN("origin LSN"), name: try r.readCString("origin name")))
        case UInt8(ascii: "R"):
            return .relation(try decodeRelation(&r))
        case UInt8(ascii: "Y"):
            return .type(TypeMessage(
                xid: try readStreamXid(&r),
                oid: try r.readUInt32("type OID"),
                namespace: try r.readCString("namespace"),
                name: try r.readCString("type name")
            ))
        case UInt8(ascii: "I"):
            let xid = try readStreamXid(&r)
            let relation = try r.readUInt32("relation OID")
            try expectMarker("N", &r)
            return .insert(InsertMessage(xid: xid, relationOID: relation, newTuple: try r.readTupleData()))
        case UInt8(ascii: "U"):
            let xid = try readStreamXid(&r)
            let relation = try r.readUInt32("relation OID")
            var marker = try r.readUInt8("tuple marker")
            var old: OldTuple?
            if marker == UInt8(ascii: "K") || marker == UInt8(ascii: "O") {
                old = OldTuple(kind: marker == UInt8(ascii: "K") ? .key : .full, tuple: try r.readTupleData())
                marker = try r.readUInt8("tuple marker")
            }
            guard marker == UInt8(ascii: "N") else {
                r.buffer.moveReaderIndex(to: r.buffer.readerIndex - 1)
                throw r.error(.unexpectedTupleMarker, "byte \(marker) where 'N' was expected")
            }
            return .update(UpdateMessage(xid: xid, relationOID: relation, old: old, newTuple: try r.readTupleData()))
        case UInt8(ascii: "D"):
            let xid = try readStreamXid(&r)
            let relation = try r.readUInt32("relation OID")
            let marker = try r.readUInt8("tuple marker")
            guard marker == UInt8(ascii: "K") || marker == UInt8(ascii: "O") else {
                r.buffer.moveReaderIndex(to: r.buffer.readerIndex - 1)
                throw r.error(.unexpectedTupleMarker, "byte \(marker) where 'K' or 'O' was expected")
            }
            let old = OldTuple(kind: marker == UInt8(ascii: "K") ? .key : .full, tuple: try r.readTupleData())
            return .delete(DeleteMessage(xid: xid, relationOID: relation, old: old))
        case UInt8(ascii: "T"):
            let xid = try readStreamXid(&r)
            let count = try r.readLength32("relation count")
            let options = try r.readUInt8("options")
            guard r.buffer.readableBytes >= count * 4 else {
                throw r.error(.truncated, "\(count) relation OIDs announced, \(r.buffer.readableBytes) bytes left")
            }
            var relations: [UInt32] = []
            relations.reserveCapacity(count)
            for _ in 0..<count { relations.append(try r.readUInt32("relation OID")) }
            return .truncate(TruncateMessage(xid: xid, options: options, relationOIDs: relations))
        case UInt8(ascii: "M"):
            let xid = try readStreamXid(&r)
            let flags = try r.readUInt8("flags")
            let lsn = try r.readLSN("message LSN")
            let prefix = try r.readCString("prefix")
            let length = try r.readLength32("content length")
            let content = try r.readSlice(length: length, "content")
            return .message(LogicalDecodingMessage(xid: xid, flags: flags, lsn: lsn, prefix: prefix, content: content))
        case UInt8(ascii: "S"):
            try require(version: 2, r)
            guard !isInStreamedBlock else { throw r.error(.unexpectedStreamState, "Stream Start inside a streamed block") }
            let xid = try r.readUInt32("xid")
            let first = try r.readUInt8("first segment")
            return .streamStart(StreamStartMessage(xid: xid, isFirstSegment: first == 1))
        case UInt8(ascii: "E"):
            try require(version: 2, r)
            guard isInStreamedBlock else { throw r.error(.unexpectedStreamState, "Stream Stop outside a streamed block") }
            return .streamStop
        case UInt8(ascii: "c"):
            try require(version: 2, r)
            return .streamCommit(StreamCommitMessage(
                xid: try r.readUInt32("xid"),
                flags: try r.readUInt8("flags"),
                commitLSN: try r.readLSN("commit LSN"),
                endLSN: try r.readLSN("end LSN"),
                commitTimestamp: try r.readInt64("commit timestamp")
            ))
        case UInt8(ascii: "A"):
            try require(version: 2, r)
            let xid = try r.readUInt32("xid")
            let sub = try r.readUInt32("subtransaction xid")
            // Protocol 4 with parallel streaming appends the abort LSN and time.
            if protocolVersion >= 4, r.buffer.readableBytes > 0 {
                return .streamAbort(StreamAbortMessage(
                    xid: xid, subtransactionXid: sub,
                    abortLSN: try r.readLSN("abort LSN"), abortTimestamp: try r.readInt64("abort timestamp")
                ))
            }
            return .streamAbort(StreamAbortMessage(xid: xid, subtransactionXid: sub))
        case UInt8(ascii: "b"):
            try require(version: 3, r)
            return .beginPrepare(BeginPrepareMessage(
                prepareLSN: try r.readLSN("prepare LSN"),
                endLSN: try r.readLSN("end LSN"),
                prepareTimestamp: try r.readInt64("prepare timestamp"),
                xid: try r.readUInt32("xid"),
                gid: try r.readCString("gid")
            ))
        case UInt8(ascii: "P"), UInt8(ascii: "p"):
            try require(version: 3, r)
            let prepare = PrepareMessage(
                flags: try r.readUInt8("flags"),
                prepareLSN: try r.readLSN("prepare LSN"),
                endLSN: try r.readLSN("end LSN"),
                prepareTimestamp: try r.readInt64("prepare timestamp"),
                xid: try r.readUInt32("xid"),
                gid: try r.readCString("gid")
            )
            return tag == UInt8(ascii: "P") ? .prepare(prepare) : .streamPrepare(prepare)
        case UInt8(ascii: "K"):
            try require(version: 3, r)
            return .commitPrepared(CommitPreparedMessage(
                flags: try r.readUInt8("flags"),
                commitLSN: try r.readLSN("commit LSN"),
                endLSN: try r.readLSN("end LSN"),
                commitTimestamp: try r.readInt64("commit timestamp"),
                xid: try r.readUInt32("xid"),
                gid: try r.readCString("gid")
            ))
        case UInt8(ascii: "r"):
            try require(version: 3, r)
            return .rollbackPrepared(RollbackPreparedMessage(
                flags: try r.readUInt8("flags"),
                prepareEndLSN: try r.readLSN("prepare end LSN"),
                rollbackEndLSN: try r.readLSN("rollback end LSN"),
                prepareTimestamp: try r.readInt64("prepare timestamp"),
                rollbackTimestamp: try r.readInt64("rollback timestamp"),
                xid: try r.readUInt32("xid"),
                gid: try r.readCString("gid")
            ))
        default:
            r.buffer.moveReaderIndex(to: r.startIndex)
            throw r.error(.unknownMessageTag, "tag byte \(tag)")
        }
    }

    private func decodeRelation(_ r: inout PGOutputReader) throws(PGOutputError) -> RelationMessage {
        let xid = try readStreamXid(&r)
        let oid = try r.readUInt32("relation OID")
        let namespace = try r.readCString("namespace")
        let name = try r.readCString("relation name")
        let identity = try r.readUInt8("replica identity")
        let count = try r.readCount16("column count")
        var columns: [RelationMessage.Column] = []
        // A column takes at least 10 bytes: don't let a forged count reserve memory.
        columns.reserveCapacity(min(count, r.buffer.readableBytes / 10))
        for _ in 0..<count {
            columns.append(RelationMessage.Column(
                flags: try r.readUInt8("column flags"),
                name: try r.readCString("column name"),
                typeOID: try r.readUInt32("column type OID"),
                typeModifier: try r.readInt32("column type modifier")
            ))
        }
        return RelationMessage(xid: xid, oid: oid, namespace: namespace, name: name, replicaIdentity: identity, columns: columns)
    }

    private func expectMarker(_ marker: Unicode.Scalar, _ r: inout PGOutputReader) throws(PGOutputError) {
        let byte = try r.readUInt8("tuple marker")
        guard byte == UInt8(ascii: marker) else {
            r.buffer.moveReaderIndex(to: r.buffer.readerIndex - 1)
            throw r.error(.unexpectedTupleMarker, "byte \(byte) where '\(marker)' was expected")
        }
    }
}
