/// A W3C Trace Context `traceparent` header value (version 00 layout), validated so only
/// well-formed values reach the outbox headers the relay forwards.
public struct TraceParent: Sendable, Hashable, CustomStringConvertible {
    public let value: String

    /// `vv-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`, lower-case hex; version `ff` and
    /// all-zero ids are invalid. Later versions may append fields after a dash.
    public init?(_ header: String) {
        let bytes = Array(header.utf8)
        guard bytes.count >= 55 else { return nil }
        func isHex(_ range: Range<Int>) -> Bool {
            range.allSatisfy { i in
                let b = bytes[i]
                return (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "f"))
            }
        }
        func isZero(_ range: Range<Int>) -> Bool { range.allSatisfy { bytes[$0] == UInt8(ascii: "0") } }
        let dash = UInt8(ascii: "-")
        guard isHex(0..<2), bytes[2] == dash, isHex(3..<35), bytes[35] == dash, isHex(36..<52), bytes[52] == dash, isHex(53..<55)
        else { return nil }
        let version = String(decoding: bytes[0..<2], as: UTF8.self)
        guard version != "ff", !isZero(3..<35), !isZero(36..<52) else { return nil }
        if version == "00" {
            guard bytes.count == 55 else { return nil }
        } else if bytes.count > 55 {
            guard bytes[55] == dash else { return nil }
        }
        self.value = header
    }

    public var description: String { value }
}
