import Testing
@testable import CDCRelay

@Suite("LSN and Postgres timestamps")
struct LSNTests {
    @Test func formatsLikePostgres() {
        #expect(LSN(0).description == "0/0")
        #expect(LSN(0x16_B374_D848).description == "16/B374D848")
        #expect(LSN(UInt64.max).description == "FFFFFFFF/FFFFFFFF")
        #expect(LSN(0x1_0000_0000).description == "1/0")
    }

    @Test func parsesWhatItFormats() {
        for value: UInt64 in [0, 1, 0xFFFF_FFFF, 0x1_0000_0000, 0x16_B374_D848, .max, 0xDEAD_BEEF_0000_0001] {
            #expect(LSN(LSN(value).description) == LSN(value))
        }
        #expect(LSN("16/b374d848") == LSN(0x16_B374_D848))
        #expect(LSN("0/00000010") == LSN(16))
    }

    @Test(arguments: ["", "/", "0", "0/", "/0", "1/2/3", "G/0", "0/G", "+1/0", "-1/0", "0/-1", "123456789/0", "0/123456789", " 0/0", "0/0 "])
    func rejectsMalformed(text: String) {
        #expect(LSN(text) == nil)
    }

    @Test func ordersByPosition() {
        #expect(LSN(1) < LSN(2))
        #expect(LSN("1/0")! > LSN("0/FFFFFFFF")!)
        #expect([LSN(5), LSN(1), LSN(3)].sorted() == [LSN(1), LSN(3), LSN(5)])
    }

    @Test func postgresEpoch() {
        #expect(PostgresTimestamp.postgresMicros(fromUnixMicros: 946_684_800_000_000) == 0)
        #expect(PostgresTimestamp.unixMicros(fromPostgresMicros: 0) == 946_684_800_000_000)
        #expect(PostgresTimestamp.unixMicros(fromPostgresMicros: -1) == 946_684_799_999_999)
        // 2026-01-01 00:00:00 UTC
        #expect(PostgresTimestamp.postgresMicros(fromUnixMicros: 1_767_225_600_000_000) == 820_540_800_000_000)
        let now = PostgresTimestamp.now()
        #expect(now > 820_540_800_000_000)  // after 2026
        #expect(now < 1_500_000_000_000_000)  // before 2047
    }
}
