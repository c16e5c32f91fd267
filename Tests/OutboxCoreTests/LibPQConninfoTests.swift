import OutboxCore
import Testing

struct LibPQConninfoTests {
    @Test func quotesEveryValueAndEscapesQuotesAndBackslashes() {
        #expect(LibPQConninfo.quote("") == "''")
        #expect(LibPQConninfo.quote(#"o'neil\x"#) == #"'o\'neil\\x'"#)
        #expect(LibPQConninfo.make([("host", "db"), ("password", "a b'c")]) == #"host='db' password='a b\'c'"#)
    }

    @Test func runtimeOptionsEscapeSpacesAndBackslashes() {
        #expect(LibPQConninfo.runtimeOption(name: "search_path", value: #"a b\c"#) == #"-c search_path=a\ b\\c"#)
    }
}
