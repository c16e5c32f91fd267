import Foundation
import OutboxCore

/// One partition of the outbox as the catalog describes it: a range of ids, or the default
/// partition that takes rows no range holds.
struct OutboxPartition: Sendable, Equatable {
    enum Bound: Sendable, Equatable {
        /// `lower` nil: MINVALUE (the pre-partitioning table). `upper` is exclusive.
        case range(lower: Int64?, upper: Int64)
        case `default`
    }

    var name: String
    var bound: Bound

    /// Parses `pg_get_expr(relpartbound, oid)`: `FOR VALUES FROM ('1') TO ('2')`,
    /// `FOR VALUES FROM (MINVALUE) TO ('2')` or `DEFAULT`; nil for anything else (left alone).
    static func parse(name: String, boundExpression: String) -> OutboxPartition? {
        let text = boundExpression.trimmingCharacters(in: .whitespaces)
        if text == "DEFAULT" { return OutboxPartition(name: name, bound: .default) }
        let prefix = "FOR VALUES FROM ("
        guard text.hasPrefix(prefix), text.hasSuffix(")"), let middle = text.range(of: ") TO (") else { return nil }
        let lowerText = text[text.index(text.startIndex, offsetBy: prefix.count)..<middle.lowerBound]
        let upperText = text[middle.upperBound..<text.index(before: text.endIndex)]
        func value(_ raw: Substring) -> Int64? { Int64(raw.trimmingCharacters(in: CharacterSet(charactersIn: "'"))) }
        guard let upper = value(upperText) else { return nil }
        if lowerText == "MINVALUE" { return OutboxPartition(name: name, bound: .range(lower: nil, upper: upper)) }
        guard let lower = value(lowerText) else { return nil }
        return OutboxPartition(name: name, bound: .range(lower: lower, upper: upper))
    }
}

/// Partition bounds are snowflake ids of instants: the id a row written at that millisecond
/// would have with worker 0 and sequence 0, so every id of that millisecond or later is ≥ it.
enum OutboxPartitionTime {
    static func id(atMillisSince1970 millis: Int64) -> Int64 {
        let since = millis - SnowflakeID.epochMillisSince1970
        guard since > 0 else { return 0 }
        return min(since, SnowflakeID.maxTimestamp) << 22
    }

    static func millisSince1970(ofID id: Int64) -> Int64 {
        (id >> 22) + SnowflakeID.epochMillisSince1970
    }

    /// `outbox_p20261202164231`, plus `_123` when the start is not on a whole second.
    static func partitionName(startingAt id: Int64) -> String {
        let millis = millisSince1970(ofID: id)
        let digits = UTCTimestamp.iso8601(units: millis, fractionDigits: 3).filter(\.isNumber)
        let seconds = digits.prefix(14), fraction = digits.dropFirst(14)
        return fraction == "000" ? "outbox_p\(seconds)" : "outbox_p\(seconds)_\(fraction)"
    }
}
