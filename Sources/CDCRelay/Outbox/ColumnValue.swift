/// One column of a decoded pgoutput tuple, independent of the decoder's own types.
public enum ColumnValue: Sendable, Hashable {
    case null
    /// An unchanged TOASTed value (never sent for inserts; rejected by the mapping).
    case unchangedToast
    case text([UInt8])
    case binary([UInt8])
}
