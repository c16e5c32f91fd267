import NIOCore
@testable import CDCRelay

/// Test-only writer producing pgoutput bytes from typed messages, mirroring the server's layouts.
enum PGOutputTestEncoder {
    static func encode(_ message: PGOutputMessage) -> ByteBuffer {
        var b = ByteBuffer()
        switch message {
        case .begin(let m):
            b.tag("B"); b.writeInteger(m.finalLSN.value); b.writeInteger(m.commitTimestamp); b.writeInteger(m.xid)
        case .commit(let m):
            b.tag("C"); b.writeInteger(m.flags); b.writeInteger(m.commitLSN.value); b.writeInteger(m.endLSN.value)
            b.writeInteger(m.commitTimestamp)
        case .origin(let m):
            b.tag("O"); b.writeInteger(m.originLSN.value); b.cstring(m.name)
        case .relation(let m):
            b.tag("R"); b.xid(m.xid); b.writeInteger(m.oid); b.cstring(m.namespace); b.cstring(m.name)
            b.writeInteger(m.replicaIdentity); b.writeInteger(Int16(m.columns.count))
            for column in m.columns {
                b.writeInteger(column.flags); b.cstring(column.name); b.writeInteger(column.typeOID); b.writeInteger(column.typeModifier)
            }
        case .type(let m):
            b.tag("Y"); b.xid(m.xid); b.writeInteger(m.oid); b.cstring(m.namespace); b.cstring(m.name)
        case .insert(let m):
            b.tag("I"); b.xid(m.xid); b.writeInteger(m.relationOID); b.tag("N"); b.tuple(m.newTuple)
        case .update(let m):
            b.tag("U"); b.xid(m.xid); b.writeInteger(m.relationOID)
            if let old = m.old { b.tag(old.kind == .key ? "K" : "O"); b.tuple(old.tuple) }
            b.tag("N"); b.tuple(m.newTuple)
        case .delete(let m):
            b.tag("D"); b.xid(m.xid); b.writeInteger(m.relationOID); b.tag(m.old.kind == .key ? "K" : "O"); b.tuple(m.old.tuple)
        case .truncate(let m):
            b.tag("T"); b.xid(m.xid); b.writeInteger(Int32(m.relationOIDs.count)); b.writeInteger(m.options)
            for oid in m.relationOIDs { b.writeInteger(oid) }
        case .message(let m):
            b.tag("M"); b.xid(m.xid); b.writeInteger(m.flags); b.writeInteger(m.lsn.value); b.cstring(m.prefix)
            b.writeInteger(Int32(m.content.readableBytes)); b.writeImmutableBuffer(m.content)
        case .streamStart(let m):
            b.tag("S"); b.writeInteger(m.xid); b.writeInteger(m.isFirstSegment ? UInt8(1) : 0)
        case .streamStop:
            b.tag("E")
        case .streamCommit(let m):
            b.tag("c"); b.writeInteger(m.xid); b.writeInteger(m.flags); b.writeInteger(m.commitLSN.value)
            b.writeInteger(m.endLSN.value); b.writeInteger(m.commitTimestamp)
        case .streamAbort(let m):
            b.tag("A"); b.writeInteger(m.xid); b.writeInteger(m.subtransactionXid)
            if let lsn = m.abortLSN, let ts = m.abortTimestamp { b.writeInteger(lsn.value); b.writeInteger(ts) }
        case .beginPrepare(let m):
            b.tag("b"); b.writeInteger(m.prepareLSN.value); b.writeInteger(m.endLSN.value); b.writeInteger(m.prepareTimestamp)
            b.writeInteger(m.xid); b.cstring(m.gid)
        case .prepare(let m), .streamPrepare(let m):
            if case .prepare = message { b.tag("P") } else { b.tag("p") }
            b.writeInteger(m.flags); b.writeInteger(m.prepareLSN.value); b.writeInteger(m.endLSN.value)
            b.writeInteger(m.prepareTimestamp); b.writeInteger(m.xid); b.cstring(m.gid)
        case .commitPrepared(let m):
            b.tag("K"); b.writeInteger(m.flags); b.writeInteger(m.commitLSN.value); b.writeInteger(m.endLSN.value)
            b.writeInteger(m.commitTimestamp); b.writeInteger(m.xid); b.cstring(m.gid)
        case .rollbackPrepared(let m):
            b.tag("r"); b.writeInteger(m.flags); b.writeInteger(m.prepareEndLSN.value); b.writeInteger(m.rollbackEndLSN.value)
            b.writeInteger(m.prepareTimestamp); b.writeInteger(m.rollbackTimestamp); b.writeInteger(m.xid); b.cstring(m.gid)
        }
        return b
    }
}

extension ByteBuffer {
    mutating func tag(_ scalar: Unicode.Scalar) { writeInteger(UInt8(ascii: scalar)) }
    mutating func cstring(_ string: String) { writeString(string); writeInteger(UInt8(0)) }
    mutating func xid(_ xid: UInt32?) { if let xid { writeInteger(xid) } }
    mutating func tuple(_ tuple: TupleData) {
        writeInteger(Int16(tuple.columns.count))
        for column in tuple.columns {
            switch column {
            case .null: tag("n")
            case .unchangedToast: tag("u")
            case .text(let value): tag("t"); writeInteger(Int32(value.readableBytes)); writeImmutableBuffer(value)
            case .binary(let value): tag("b"); writeInteger(Int32(value.readableBytes)); writeImmutableBuffer(value)
            }
        }
    }
}

/// A deterministic generator so fuzz failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
