import NIOCore
@testable import CDCRelay

/// One sample message per pgoutput type, with the protocol version and stream context it needs.
struct PGOutputSample: CustomStringConvertible, Sendable {
    var name: String
    var message: PGOutputMessage
    var protocolVersion: Int
    /// Needs the decoder inside a Stream Start/Stop block (the message carries an xid).
    var inStream: Bool

    var description: String { name }

    var bytes: ByteBuffer { PGOutputTestEncoder.encode(message) }

    /// A decoder in the state this sample expects.
    func decoder() throws -> PGOutputDecoder {
        var decoder = PGOutputDecoder(protocolVersion: protocolVersion)
        if inStream {
            var start = PGOutputTestEncoder.encode(.streamStart(StreamStartMessage(xid: 7, isFirstSegment: true)))
            _ = try decoder.decode(&start)
        }
        return decoder
    }
}

func textBuffer(_ string: String) -> ByteBuffer { ByteBuffer(string: string) }

let sampleTuple = TupleData(columns: [
    .text(textBuffer("42")), .null, .unchangedToast, .binary(ByteBuffer(bytes: [0, 0, 0, 0, 0, 0, 0, 42])), .text(textBuffer("")),
])

let sampleRelation = RelationMessage(
    xid: nil, oid: 16_385, namespace: "public", name: "outbox", replicaIdentity: UInt8(ascii: "d"),
    columns: [
        .init(flags: 1, name: "id", typeOID: 20, typeModifier: -1),
        .init(flags: 0, name: "payload", typeOID: 3802, typeModifier: -1),
        .init(flags: 0, name: "naïve ✓", typeOID: 1043, typeModifier: 68),
    ]
)

let pgOutputSamples: [PGOutputSample] = {
    var samples: [PGOutputSample] = []
    func add(_ name: String, _ message: PGOutputMessage, version: Int = 1, inStream: Bool = false) {
        samples.append(PGOutputSample(name: name, message: message, protocolVersion: version, inStream: inStream))
    }
    add("begin", .begin(BeginMessage(finalLSN: LSN(0x16_B374_D848), commitTimestamp: 817_000_000_123_456, xid: 901)))
    add("commit", .commit(CommitMessage(flags: 0, commitLSN: LSN(0x16_B374_D848), endLSN: LSN(0x16_B374_D878), commitTimestamp: -5)))
    add("origin", .origin(OriginMessage(originLSN: LSN(77), name: "node-a")))
    add("relation", .relation(sampleRelation))
    add("relation, no columns", .relation(RelationMessage(xid: nil, oid: 1, namespace: "", name: "t", replicaIdentity: UInt8(ascii: "n"), columns: [])))
    add("type", .type(TypeMessage(xid: nil, oid: 99_999, namespace: "public", name: "mood")))
    add("insert", .insert(InsertMessage(xid: nil, relationOID: 16_385, newTuple: sampleTuple)))
    add("insert, zero columns", .insert(InsertMessage(xid: nil, relationOID: 1, newTuple: TupleData(columns: []))))
    add("update", .update(UpdateMessage(xid: nil, relationOID: 16_385, old: nil, newTuple: sampleTuple)))
    add("update K", .update(UpdateMessage(xid: nil, relationOID: 16_385, old: OldTuple(kind: .key, tuple: TupleData(columns: [.text(textBuffer("1"))])), newTuple: sampleTuple)))
    add("update O", .update(UpdateMessage(xid: nil, relationOID: 16_385, old: OldTuple(kind: .full, tuple: sampleTuple), newTuple: sampleTuple)))
    add("delete K", .delete(DeleteMessage(xid: nil, relationOID: 16_385, old: OldTuple(kind: .key, tuple: TupleData(columns: [.text(textBuffer("1"))])))))
    add("delete O", .delete(DeleteMessage(xid: nil, relationOID: 16_385, old: OldTuple(kind: .full, tuple: sampleTuple))))
    add("truncate", .truncate(TruncateMessage(xid: nil, options: 3, relationOIDs: [16_385, 16_390])))
    add("message", .message(LogicalDecodingMessage(xid: nil, flags: 1, lsn: LSN(123), prefix: "outbox", content: ByteBuffer(bytes: [0, 1, 2, 255]))))
    add("message, empty", .message(LogicalDecodingMessage(xid: nil, flags: 0, lsn: LSN(1), prefix: "", content: ByteBuffer())))
    // Protocol 2: streamed transactions.
    add("stream start", .streamStart(StreamStartMessage(xid: 7, isFirstSegment: true)), version: 2)
    add("stream stop", .streamStop, version: 2, inStream: true)
    add("relation in stream", .relation({ var r = sampleRelation; r.xid = 7; return r }()), version: 2, inStream: true)
    add("type in stream", .type(TypeMessage(xid: 7, oid: 5, namespace: "s", name: "t")), version: 2, inStream: true)
    add("insert in stream", .insert(InsertMessage(xid: 7, relationOID: 16_385, newTuple: sampleTuple)), version: 2, inStream: true)
    add("update in stream", .update(UpdateMessage(xid: 7, relationOID: 16_385, old: OldTuple(kind: .key, tuple: sampleTuple), newTuple: sampleTuple)), version: 2, inStream: true)
    add("delete in stream", .delete(DeleteMessage(xid: 7, relationOID: 16_385, old: OldTuple(kind: .full, tuple: sampleTuple))), version: 2, inStream: true)
    add("truncate in stream", .truncate(TruncateMessage(xid: 7, options: 0, relationOIDs: [])), version: 2, inStream: true)
    add("message in stream", .message(LogicalDecodingMessage(xid: 7, flags: 1, lsn: LSN(9), prefix: "p", content: textBuffer("hello"))), version: 2, inStream: true)
    add("stream commit", .streamCommit(StreamCommitMessage(xid: 7, flags: 0, commitLSN: LSN(100), endLSN: LSN(130), commitTimestamp: 55)), version: 2)
    add("stream abort", .streamAbort(StreamAbortMessage(xid: 7, subtransactionXid: 8)), version: 2)
    // Protocol 3: two-phase commit.
    add("begin prepare", .beginPrepare(BeginPrepareMessage(prepareLSN: LSN(10), endLSN: LSN(20), prepareTimestamp: 30, xid: 40, gid: "gid-1")), version: 3)
    add("prepare", .prepare(PrepareMessage(flags: 0, prepareLSN: LSN(10), endLSN: LSN(20), prepareTimestamp: 30, xid: 40, gid: "gid-1")), version: 3)
    add("commit prepared", .commitPrepared(CommitPreparedMessage(flags: 0, commitLSN: LSN(11), endLSN: LSN(21), commitTimestamp: 31, xid: 40, gid: "gid-1")), version: 3)
    add("rollback prepared", .rollbackPrepared(RollbackPreparedMessage(flags: 0, prepareEndLSN: LSN(20), rollbackEndLSN: LSN(25), prepareTimestamp: 30, rollbackTimestamp: 35, xid: 40, gid: "gid-1")), version: 3)
    add("stream prepare", .streamPrepare(PrepareMessage(flags: 0, prepareLSN: LSN(10), endLSN: LSN(20), prepareTimestamp: 30, xid: 40, gid: "g")), version: 3)
    // Protocol 4: parallel streaming adds the abort position.
    add("stream abort v4", .streamAbort(StreamAbortMessage(xid: 7, subtransactionXid: 8, abortLSN: LSN(500), abortTimestamp: 600)), version: 4)
    return samples
}()
