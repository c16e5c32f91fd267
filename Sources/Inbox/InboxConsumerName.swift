/// The consumer name an inbox instance subscribes with: newer instances sort first.
///
/// On a Failover subscription the broker makes the consumer whose name sorts first the active one
/// (Apache Pulsar orders by priority, then name; pulsar-lite by name). A restarted instance must
/// take over at once, even while the broker still holds the consumer of the instance it replaces:
/// after a host crash Pulsar keeps that consumer until its keepalive expires, and pulsar-lite
/// keeps it for good when the connection ended in a reset (a kill -9 with unread data). Naming by
/// inverted start time makes the newest instance the active one; the stale one becomes a standby
/// that receives nothing, and what it held unacknowledged is redelivered and found in the inbox.
public struct InboxConsumerName: Sendable, Hashable {
    /// 10^13 ms is the year 2286: the inverted time always has 13 digits, so text order is time order.
    static let horizonMilliseconds: UInt64 = 10_000_000_000_000

    public let value: String

    /// `startedAtMilliseconds` is Unix time; `nonce` tells apart instances started in the same millisecond.
    public init(subscription: String, startedAtMilliseconds: UInt64, nonce: UInt32) {
        let inverted = Self.horizonMilliseconds - min(startedAtMilliseconds, Self.horizonMilliseconds - 1)
        let digits = String(inverted)
        let padded = String(repeating: "0", count: max(0, 13 - digits.count)) + digits
        let suffix = String(nonce, radix: 16)
        value = "\(subscription)-\(padded)-\(String(repeating: "0", count: max(0, 8 - suffix.count)))\(suffix)"
    }
}
