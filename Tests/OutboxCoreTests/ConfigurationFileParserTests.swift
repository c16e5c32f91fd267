import Testing
@testable import OutboxCore

@Suite struct ConfigurationFileParserTests {
    private func parse(_ text: String) throws -> [String: String] {
        Dictionary(uniqueKeysWithValues: try ConfigurationFileParser().parse(text, source: "t.yaml").map { ($0.path, $0.value) })
    }

    @Test func nestedBlocksAndQuotes() throws {
        let values = try parse("""
            a:
              b:
                c: "x # not a comment"
              d: 'it''s'
            e: plain value
            f: "esc\\"aped"
            g: ~
            """)
        #expect(values == ["a.b.c": "x # not a comment", "a.d": "it's", "e": "plain value", "f": "esc\"aped", "g": ""])
    }

    @Test func flowMappingWithQuotedComma() throws {
        let values = try parse("p: { uri: \"pulsar://h:1\", name: 'a,b' }")
        #expect(values == ["p.uri": "pulsar://h:1", "p.name": "a,b"])
    }

    @Test func valueContainingColons() throws {
        #expect(try parse("pulsar:\n  uri: pulsar://127.0.0.1:6650\n") == ["pulsar.uri": "pulsar://127.0.0.1:6650"])
    }

    @Test func yamlScalarsMeanWhatYAMLSays() throws {
        let values = try parse("a: |\n  two\n  lines\nb: >-\n  folded\n  text\nc: 'off'\nd: off\ne:\n")
        #expect(values == ["a": "two\nlines\n", "b": "folded text", "c": "off", "d": "off", "e": ""])
    }

    @Test func errorsNameTheLine() {
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationFileParser().parse("server:\n  port: 1\ndatabase:\n  - x\n", source: "t.yaml")
        }
        #expect(error?.source == "t.yaml:4")
    }

    @Test func emptyFileSetsNothing() throws {
        #expect(try parse("# only a comment\n").isEmpty)
    }

    @Test(arguments: [
        "a:\n  - one\n",
        "just text\n",
        "a: [1, 2]\n",
        "a: \"unterminated\n",
        "a: { b: 1\n",
        "a:\n\tb: 1\n",
        "a: 1\na: 2\n",
        "[a, b]\n",
        "? [a]\n: 1\n",
    ])
    func unsupportedYAMLIsRejectedWithTheLine(text: String) {
        let error = #expect(throws: ConfigurationError.self) { try ConfigurationFileParser().parse(text, source: "t.yaml") }
        #expect(error?.code == .malformedFile)
        #expect(error?.source?.hasPrefix("t.yaml:") == true)
    }
}
