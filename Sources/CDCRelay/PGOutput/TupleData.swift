import NIOCore

/// One column of a pgoutput TupleData.
public enum TupleValue: Sendable, Hashable {
    /// 'n': SQL NULL.
    case null
    /// 'u': an unchanged TOASTed value that the server did not send (not NULL).
    case unchangedToast
    /// 't': the column in the type's text output format.
    case text(ByteBuffer)
    /// 'b': the column in the type's binary send format (only with the `binary` option).
    case binary(ByteBuffer)
}

/// The column values of one row, in the relation's column order.
public struct TupleData: Sendable, Hashable {
    public var columns: [TupleValue]

    public init(columns: [TupleValue]) {
        self.columns = columns
    }
}

/// Which old row image an Update or Delete carries: 'K' (replica identity key columns only)
/// or 'O' (the full old row, with REPLICA IDENTITY FULL).
public struct OldTuple: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case key
        case full
    }

    public var kind: Kind
    public var tuple: TupleData

    public init(kind: Kind, tuple: TupleData) {
        self.kind = kind
        self.tuple = tuple
    }
}
