import OutboxCore
/// A canonical byte form of a JSON body, hashed (SHA-256, in Postgres) to decide whether a retry
/// with the same `Idempotency-Key` is the same request. Object members are sorted and every
/// token is tagged and length-prefixed, so formatting and member order do not matter while any
/// change of content does (numbers compare by their text: `1.5` and `1.50` differ).
public enum RequestFingerprint {
    public static func canonicalBytes(of value: JSONValue) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        append(value, to: &output)
        return output
    }

    private static func append(_ value: JSONValue, to output: inout [UInt8]) {
        switch value {
        case .null:
            output.append(UInt8(ascii: "z"))
        case .bool(let flag):
            output.append(flag ? UInt8(ascii: "t") : UInt8(ascii: "f"))
        case .number(let text):
            appendTagged(UInt8(ascii: "n"), text, to: &output)
        case .string(let text):
            appendTagged(UInt8(ascii: "s"), text, to: &output)
        case .array(let elements):
            appendTagged(UInt8(ascii: "a"), String(elements.count), to: &output)
            for element in elements { append(element, to: &output) }
        case .object(let members):
            appendTagged(UInt8(ascii: "o"), String(members.count), to: &output)
            for member in members.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
                appendTagged(UInt8(ascii: "k"), member.key, to: &output)
                append(member.value, to: &output)
            }
        }
    }

    private static func appendTagged(_ tag: UInt8, _ text: String, to output: inout [UInt8]) {
        output.append(tag)
        output.append(contentsOf: String(text.utf8.count).utf8)
        output.append(UInt8(ascii: ":"))
        output.append(contentsOf: text.utf8)
    }
}
