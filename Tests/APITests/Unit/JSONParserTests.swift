import Testing
@testable import API
import OutboxCore

@Suite struct JSONParserTests {
    func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test func parsesAllValueKindsKeepingNumberText() throws {
        let value = try parse(#" {"a": [1, -2.50, 3e+2, true, false, null], "b": {"c": "d\n\u00e9\ud83d\ude00"}} "#)
        #expect(value["a"] == .array([.number("1"), .number("-2.50"), .number("3e+2"), .bool(true), .bool(false), .null]))
        #expect(value["b"]?["c"] == .string("d\né😀"))
    }

    @Test(arguments: [
        ("", JSONParseError.Code.unexpectedEnd),
        ("{", .unexpectedEnd),
        (#"{"a":1,}"#, .unexpectedCharacter),
        (#"{"a" 1}"#, .unexpectedCharacter),
        ("[1 2]", .unexpectedCharacter),
        ("01", .invalidNumber),
        ("1.", .invalidNumber),
        ("-", .invalidNumber),
        ("1e", .invalidNumber),
        ("+1", .unexpectedCharacter),
        ("NaN", .unexpectedCharacter),
        (#""a\x""#, .invalidEscape),
        (#""\ud800""#, .invalidEscape),
        (#""\udc00""#, .invalidEscape),
        ("\"a\u{01}\"", .invalidString),
        (#"{"a":1,"a":2}"#, .duplicateKey),
        ("{} x", .trailingData),
        ("tru", .unexpectedEnd),
        ("nul!", .unexpectedCharacter),
    ])
    func rejectsMalformedInput(text: String, code: JSONParseError.Code) {
        let error = #expect(throws: JSONParseError.self) { try parse(text) }
        #expect(error?.code == code, "\(text)")
    }

    @Test func duplicateKeysAreFoundInLargeObjectsToo() throws {
        let members = (0..<40).map { #""k\#($0)":\#($0)"# }
        let unique = "{" + members.joined(separator: ",") + "}"
        guard case .object(let parsed) = try parse(unique) else { Issue.record("not an object"); return }
        #expect(parsed.count == 40 && parsed[39].key == "k39")
        for duplicate in ["k3", "k20", "k39"] {
            let text = "{" + members.joined(separator: ",") + #","\#(duplicate)":0}"#
            #expect(duplicateKeyRejected(text))
        }
        // Escaped and plain spellings of one key are the same key.
        #expect(duplicateKeyRejected(#"{"a\u0062":1,"ab":2}"#))
    }

    private func duplicateKeyRejected(_ text: String) -> Bool {
        do {
            _ = try JSONParser.parse(Array(text.utf8))
            return false
        } catch {
            return error.code == .duplicateKey
        }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test func boundsNestingDepth() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        _ = try parse(ok)
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONParseError.self) { try parse(deep) }
    }
}
