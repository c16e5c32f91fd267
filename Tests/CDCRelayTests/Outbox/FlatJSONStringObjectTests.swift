import Foundation
import Testing
@testable import CDCRelay

/// The headers shortcut answers only for flat string objects, and then exactly as the general
/// (Foundation) path does; everything else is left to the general path.
@Suite struct FlatJSONStringObjectTests {
    static func general(_ text: String) throws -> [String: String] {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        return try #require(object as? [String: String])
    }

    @Test(arguments: [
        #"{}"#,
        #"  { }  "#,
        #"{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}"#,
        #"{"a":"1","b":"","":"empty key"}"#,
        "{\n\t\"k\" :\r\n \"v\" ,\"é\": \"ü ✓ 😀\"}",
    ])
    func flatObjectsMatchTheGeneralPath(_ text: String) throws {
        let parsed = try #require(FlatJSONStringObject.parse(Array(text.utf8)))
        #expect(parsed == (try Self.general(text)))
    }

    @Test(arguments: [
        #"{"a": "line\nbreak"}"#,  // escapes: general path
        #"{"a": "\u00e9"}"#,
        #"{"n": 42}"#,  // non-string values
        #"{"o": {"a": "b"}}"#,
        #"{"a": "1", "a": "2"}"#,  // duplicate key
        #"{"a": "1",}"#,  // not strict JSON: whatever the general path says stands
        #"{"a": "1"} x"#,
        #"{"a" "1"}"#,
        #"{"a": "1""#,
        #"["a"]"#,
        #"null"#,
        "",
        "{\"a\": \"tab\there\"}",  // raw control character
    ])
    func everythingElseIsLeftToTheGeneralPath(_ text: String) {
        #expect(FlatJSONStringObject.parse(Array(text.utf8)) == nil)
    }

    @Test func invalidUTF8IsLeftToTheGeneralPath() {
        let bytes: [UInt8] = Array(#"{"a": ""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8)
        #expect(FlatJSONStringObject.parse(bytes) == nil)
    }

    @Test func mapperStillRejectsInvalidHeaders() {
        #expect(throws: OutboxMappingError.self) { try OutboxRowMapper.decodeHeaders(Array(#"{"a" "1"}"#.utf8)) }
        #expect(throws: OutboxMappingError.self) { try OutboxRowMapper.decodeHeaders(Array(#"{"a": "1"} x"#.utf8)) }
        #expect(throws: OutboxMappingError.self) { try OutboxRowMapper.decodeHeaders(Array(#"["a"]"#.utf8)) }
    }
}
