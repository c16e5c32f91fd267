import NIOCore

/// 'B': start of a (non-streamed) transaction. `finalLSN` is the commit record's LSN.
public struct BeginMessage: Sendable, Hashable {
    public var finalLSN: LSN
    /// Microseconds since 2000-01-01 UTC.
    public var commitTimestamp: Int64
    public var xid: UInt32

    public init(finalLSN: LSN, commitTimestamp: Int64, xid: UInt32) {
        self.finalLSN = finalLSN
        self.commitTimestamp = commitTimestamp
        self.xid = xid
    }
}

/// 'C': end of a transaction. `endLSN` is what a status update confirms once the transaction is durable downstream.
public struct CommitMessage: Sendable, Hashable {
    public var flags: UInt8
    public var commitLSN: LSN
    public var endLSN: LSN
    public var commitTimestamp: Int64

    public init(flags: UInt8, commitLSN: LSN, endLSN: LSN, commitTimestamp: Int64) {
        self.flags = flags
        self.commitLSN = commitLSN
        self.endLSN = endLSN
        self.commitTimestamp = commitTimestamp
    }
}

/// 'O': the transaction was replicated from another node.
public struct OriginMessage: Sendable, Hashable {
    public var originLSN: LSN
    public var name: String

    public init(originLSN: LSN, name: String) {
        self.originLSN = originLSN
        self.name = name
    }
}

/// 'R': the shape of a table, sent before its first change on each walsender session and after schema changes.
public struct RelationMessage: Sendable, Hashable {
    public struct Column: Sendable, Hashable {
        public var flags: UInt8
        public var name: String
        public var typeOID: UInt32
        public var typeModifier: Int32

        /// Part of the replica identity key.
        public var isKey: Bool { flags & 1 == 1 }

        public init(flags: UInt8, name: String, typeOID: UInt32, typeModifier: Int32) {
            self.flags = flags
            self.name = name
            self.typeOID = typeOID
            self.typeModifier = typeModifier
        }
    }

    /// Present only inside a streamed transaction.
    public var xid: UInt32?
    public var oid: UInt32
    /// Empty for `pg_catalog`.
    public var namespace: String
    public var name: String
    /// REPLICA IDENTITY setting: 'd' default, 'n' nothing, 'f' full, 'i' index.
    public var replicaIdentity: UInt8
    public var columns: [Column]

    public init(xid: UInt32?, oid: UInt32, namespace: String, name: String, replicaIdentity: UInt8, columns: [Column]) {
        self.xid = xid
        self.oid = oid
        self.namespace = namespace
        self.name = name
        self.replicaIdentity = replicaIdentity
        self.columns = columns
    }

    /// The index of the column called `name`, if any.
    public func columnIndex(named name: String) -> Int? {
        columns.firstIndex { $0.name == name }
    }
}

/// 'Y': a non-built-in data type used by a following Relation.
public struct TypeMessage: Sendable, Hashable {
    public var xid: UInt32?
    public var oid: UInt32
    public var namespace: String
    public var name: String

    public init(xid: UInt32?, oid: UInt32, namespace: String, name: String) {
        self.xid = xid
        self.oid = oid
        self.namespace = namespace
        self.name = name
    }
}

/// 'I'
public struct InsertMessage: Sendable, Hashable {
    public var xid: UInt32?
    public var relationOID: UInt32
    public var newTuple: TupleData

    public init(xid: UInt32?, relationOID: UInt32, newTuple: TupleData) {
        self.xid = xid
        self.relationOID = relationOID
        self.newTuple = newTuple
    }
}

/// 'U': `old` is present when the key changed ('K') or with REPLICA IDENTITY FULL ('O').
public struct UpdateMessage: Sendable, Hashable {
    public var xid: UInt32?
    public var relationOID: UInt32
    public var old: OldTuple?
    public var newTuple: TupleData

    public init(xid: UInt32?, relationOID: UInt32, old: OldTuple?, newTuple: TupleData) {
        self.xid = xid
        self.relationOID = relationOID
        self.old = old
        self.newTuple = newTuple
    }
}

/// 'D'
public struct DeleteMessage: Sendable, Hashable {
    public var xid: UInt32?
    public var relationOID: UInt32
    public var old: OldTuple

    public init(xid: UInt32?, relationOID: UInt32, old: OldTuple) {
        self.xid = xid
        self.relationOID = relationOID
        self.old = old
    }
}

/// 'T'
public struct TruncateMessage: Sendable, Hashable {
    public var xid: UInt32?
    /// Bit 1: CASCADE, bit 2: RESTART IDENTITY.
    public var options: UInt8
    public var relationOIDs: [UInt32]

    public var cascade: Bool { options & 1 != 0 }
    public var restartIdentity: Bool { options & 2 != 0 }

    public init(xid: UInt32?, options: UInt8, relationOIDs: [UInt32]) {
        self.xid = xid
        self.options = options
        self.relationOIDs = relationOIDs
    }
}

/// 'M': a `pg_logical_emit_message` (only with the `messages` option).
public struct LogicalDecodingMessage: Sendable, Hashable {
    public var xid: UInt32?
    public var flags: UInt8
    public var lsn: LSN
    public var prefix: String
    public var content: ByteBuffer

    public var isTransactional: Bool { flags & 1 != 0 }

    public init(xid: UInt32?, flags: UInt8, lsn: LSN, prefix: String, content: ByteBuffer) {
        self.xid = xid
        self.flags = flags
        self.lsn = lsn
        self.prefix = prefix
        self.content = content
    }
}

/// 'S' (protocol 2+): a block of an in-progress transaction follows.
public struct StreamStartMessage: Sendable, Hashable {
    public var xid: UInt32
    public var isFirstSegment: Bool

    public init(xid: UInt32, isFirstSegment: Bool) {
        self.xid = xid
        self.isFirstSegment = isFirstSegment
    }
}

/// 'c' (protocol 2+)
public struct StreamCommitMessage: Sendable, Hashable {
    public var xid: UInt32
    public var flags: UInt8
    public var commitLSN: LSN
    public var endLSN: LSN
    public var commitTimestamp: Int64

    public init(xid: UInt32, flags: UInt8, commitLSN: LSN, endLSN: LSN, commitTimestamp: Int64) {
        self.xid = xid
        self.flags = flags
        self.commitLSN = commitLSN
        self.endLSN = endLSN
        self.commitTimestamp = commitTimestamp
    }
}

/// 'A' (protocol 2+). `abortLSN`/`abortTimestamp` only come with protocol 4 parallel streaming.
public struct StreamAbortMessage: Sendable, Hashable {
    public var xid: UInt32
    public var subtransactionXid: UInt32
    public var abortLSN: LSN?
    public var abortTimestamp: Int64?

    public init(xid: UInt32, subtransactionXid: UInt32, abortLSN: LSN? = nil, abortTimestamp: Int64? = nil) {
        self.xid = xid
        self.subtransactionXid = subtransactionXid
        self.abortLSN = abortLSN
        self.abortTimestamp = abortTimestamp
    }
}

/// 'b' (protocol 3+, two-phase): start of a prepared transaction.
public struct BeginPrepareMessage: Sendable, Hashable {
    public var prepareLSN: LSN
    public var endLSN: LSN
    public var prepareTimestamp: Int64
    public var xid: UInt32
    public var gid: String

    public init(prepareLSN: LSN, endLSN: LSN, prepareTimestamp: Int64, xid: UInt32, gid: String) {
        self.prepareLSN = prepareLSN
        self.endLSN = endLSN
        self.prepareTimestamp = prepareTimestamp
        self.xid = xid
        self.gid = gid
    }
}

/// 'P' Prepare and 'p' Stream Prepare (protocol 3+, two-phase).
public struct PrepareMessage: Sendable, Hashable {
    public var flags: UInt8
    public var prepareLSN: LSN
    public var endLSN: LSN
    public var prepareTimestamp: Int64
    public var xid: UInt32
    public var gid: String

    public init(flags: UInt8, prepareLSN: LSN, endLSN: LSN, prepareTimestamp: Int64, xid: UInt32, gid: String) {
        self.flags = flags
        self.prepareLSN = prepareLSN
        self.endLSN = endLSN
        self.prepareTimestamp = prepareTimestamp
        self.xid = xid
        self.gid = gid
    }
}

/// 'K' (protocol 3+, two-phase): COMMIT PREPARED.
public struct CommitPreparedMessage: Sendable, Hashable {
    public var flags: UInt8
    public var commitLSN: LSN
    public var endLSN: LSN
    public var commitTimestamp: Int64
    public var xid: UInt32
    public var gid: String

    public init(flags: UInt8, commitLSN: LSN, endLSN: LSN, commitTimestamp: Int64, xid: UInt32, gid: String) {
        self.flags = flags
        self.commitLSN = commitLSN
        self.endLSN = endLSN
        self.commitTimestamp = commitTimestamp
        self.xid = xid
        self.gid = gid
    }
}

/// 'r' (protocol 3+, two-phase): ROLLBACK PREPARED.
public struct RollbackPreparedMessage: Sendable, Hashable {
    public var flags: UInt8
    public var prepareEndLSN: LSN
    public var rollbackEndLSN: LSN
    public var prepareTimestamp: Int64
    public var rollbackTimestamp: Int64
    public var xid: UInt32
    public var gid: String

    public init(flags: UInt8, prepareEndLSN: LSN, rollbackEndLSN: LSN, prepareTimestamp: Int64, rollbackTimestamp: Int64, xid: UInt32, gid: String) {
        self.flags = flags
        self.prepareEndLSN = prepareEndLSN
        self.rollbackEndLSN = rollbackEndLSN
        self.prepareTimestamp = prepareTimestamp
        self.rollbackTimestamp = rollbackTimestamp
        self.xid = xid
        self.gid = gid
    }
}

/// One decoded pgoutput message (the payload of one XLogData).
public enum PGOutputMessage: Sendable, Hashable {
    case begin(BeginMessage)
    case commit(CommitMessage)
    case origin(OriginMessage)
    case relation(RelationMessage)
    case type(TypeMessage)
    case insert(InsertMessage)
    case update(UpdateMessage)
    case delete(DeleteMessage)
    case truncate(TruncateMessage)
    case message(LogicalDecodingMessage)
    case streamStart(StreamStartMessage)
    case streamStop
    case streamCommit(StreamCommitMessage)
    case streamAbort(StreamAbortMessage)
    case beginPrepare(BeginPrepareMessage)
    case prepare(PrepareMessage)
    case commitPrepared(CommitPreparedMessage)
    case rollbackPrepared(RollbackPreparedMessage)
    case streamPrepare(PrepareMessage)
}
