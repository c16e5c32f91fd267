import Testing
import Foundation
import OutboxCore
@testable import API

@Suite struct ValidationTests {
    func validate(_ text: String) throws -> Result<ProductDraft, ValidationFailure> {
        ProductValidator.validate(try JSONParser.parse(Array(text.utf8)))
    }

    func fields(_ text: String) throws -> [String] {
        switch try validate(text) {
        case .success: return []
        case .failure(let failure): return failure.errors.map(\.field)
        }
    }

    @Test func acceptsAValidBodyTrimsNameAndIgnoresUnknownFieldsAndClientTimestamps() throws {
        let result = try validate(#"""
            {"name": "  Lamp ", "description": "desk", "price": 19.99, "stock": 3, "category": "home",
             "created_at": "2024-05-01T10:00:00Z", "updated_at": "2024-05-01T10:00:00.123+02:00", "color": "red"}
            """#)
        let draft = try result.get()
        #expect(draft == ProductDraft(name: "Lamp", description: "desk", price: Price(cents: 1999)!, stock: 3, category: "home"))
    }

    /// Postgres text cannot store NUL: rejected with the field named, never sent to the database.
    @Test(arguments: ["name", "description", "category"])
    func nulCharacterIsRejectedWithTheFieldNamed(field: String) throws {
        var body = ["name": #""a""#, "price": "1", "stock": "1"]
        body[field] = #""a\u0000b""#
        let text = "{" + body.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
        guard case .failure(let failure) = try validate(text) else {
            Issue.record("accepted \(text)")
            return
        }
        #expect(failure.errors.map(\.field) == [field])
        #expect(failure.errors.first?.message.contains("NUL") == true)
    }

    @Test func databaseDataErrorsAreTheClientsNotTheServers() {
        #expect(DatabaseErrorClassifier.isRefusedValue(sqlState: "22P05"))
        #expect(DatabaseErrorClassifier.isRefusedValue(sqlState: "22021"))
        #expect(DatabaseErrorClassifier.isRefusedValue(sqlState: "23514"))
        #expect(!DatabaseErrorClassifier.isRefusedValue(sqlState: "23505"))
        #expect(!DatabaseErrorClassifier.isRefusedValue(sqlState: "57P01"))
        let refused = DatabaseErrorClassifier.apiError(
            for: PostgresServerError(sqlState: "22P05", severity: "ERROR", message: "unsupported Unicode escape sequence"), retryAfterSeconds: 1)
        #expect(refused.code == .validationFailed)
        #expect(refused.code.status.code == 422)
    }

    @Test func optionalFieldsMayBeNullOrAbsent() throws {
        let draft = try validate(#"{"name":"x","price":0,"stock":0,"description":null}"#).get()
        #expect(draft.description == nil && draft.category == nil)
    }

    @Test(arguments: [
        (#"{"price":1,"stock":1}"#, "name"),
        (#"{"name":"   ","price":1,"stock":1}"#, "name"),
        (#"{"name":5,"price":1,"stock":1}"#, "name"),
        (#"{"name":"a","stock":1}"#, "price"),
        (#"{"name":"a","price":"1.00","stock":1}"#, "price"),
        (#"{"name":"a","price":-0.01,"stock":1}"#, "price"),
        (#"{"name":"a","price":1.001,"stock":1}"#, "price"),
        (#"{"name":"a","price":10000000000,"stock":1}"#, "price"),
        (#"{"name":"a","price":1}"#, "stock"),
        (#"{"name":"a","price":1,"stock":1.5}"#, "stock"),
        (#"{"name":"a","price":1,"stock":-1}"#, "stock"),
        (#"{"name":"a","price":1,"stock":2147483648}"#, "stock"),
        (#"{"name":"a","price":1,"stock":"3"}"#, "stock"),
        (#"{"name":"a","price":1,"stock":1,"description":7}"#, "description"),
        (#"{"name":"a","price":1,"stock":1,"category":[]}"#, "category"),
        (#"{"name":"a","price":1,"stock":1,"created_at":"yesterday"}"#, "created_at"),
        (#"{"name":"a","price":1,"stock":1,"updated_at":"2024-02-30T00:00:00Z"}"#, "updated_at"),
    ])
    func rejectsEachInvalidField(body: String, field: String) throws {
        #expect(try fields(body) == [field])
    }

    @Test func lengthLimitsCountCharacters() throws {
        let name200 = String(repeating: "é", count: 200)
        #expect(try fields(#"{"name":"\#(name200)","price":1,"stock":1}"#) == [])
        #expect(try fields(#"{"name":"\#(name200)x","price":1,"stock":1}"#) == ["name"])
        let description = String(repeating: "d", count: 5_000)
        #expect(try fields(#"{"name":"a","price":1,"stock":1,"description":"\#(description)"}"#) == [])
        #expect(try fields(#"{"name":"a","price":1,"stock":1,"description":"\#(description)d"}"#) == ["description"])
        let category = String(repeating: "c", count: 100)
        #expect(try fields(#"{"name":"a","price":1,"stock":1,"category":"\#(category)"}"#) == [])
        #expect(try fields(#"{"name":"a","price":1,"stock":1,"category":"\#(category)c"}"#) == ["category"])
    }

    @Test func boundaryValuesAreAccepted() throws {
        let draft = try validate(#"{"name":"a","price":9999999999.99,"stock":2147483647}"#).get()
        #expect(draft.price.cents == 999_999_999_999 && draft.stock == Int32.max)
    }

    @Test func reportsAllErrorsAtOnceAndRejectsNonObjects() throws {
        #expect(Set(try fields(#"{"price":-1,"stock":"x"}"#)) == ["name", "price", "stock"])
        #expect(try fields("[1]") == [""])
    }
}

@Suite struct TimestampAndTraceTests {
    @Test func formatsMillisecondsExactly() {
        #expect(ISO8601Timestamp.format(millisecondsSince1970: 0) == "1970-01-01T00:00:00.000Z")
        #expect(ISO8601Timestamp.format(millisecondsSince1970: 1_704_067_200_000) == "2024-01-01T00:00:00.000Z")
        #expect(ISO8601Timestamp.format(millisecondsSince1970: 1_709_208_000_123) == "2024-02-29T12:00:00.123Z")
        #expect(ISO8601Timestamp.format(millisecondsSince1970: 4_102_444_799_999) == "2099-12-31T23:59:59.999Z")
        #expect(ISO8601Timestamp.format(millisecondsSince1970: 253_402_300_799_999) == "9999-12-31T23:59:59.999Z")
        #expect(ISO8601Timestamp.format(millisecondsSince1970: 253_402_300_800_007) == "10000-01-01T00:00:00.007Z")
    }

    @Test func formattedTimestampsAreValidAndRoundTripThroughDays() {
        // Every day boundary of 1970–2100 plus odd offsets inside the day.
        for day in stride(from: Int64(0), through: 47_482, by: 1) {
            let ms = day * 86_400_000 + (day * 7_919_777) % 86_400_000
            let text = ISO8601Timestamp.format(millisecondsSince1970: ms)
            #expect(text.utf8.count == 24 && ISO8601Timestamp.isValid(text), "\(ms) -> \(text)")
            let (year, month, dayOfMonth) = CivilCalendar.civil(fromDays: day)
            #expect(text.hasPrefix(String(format: "%04d-%02d-%02d", Int(year), Int(month), Int(dayOfMonth))))
        }
    }


    @Test(arguments: ["2024-05-01T10:00:00Z", "2024-02-29T23:59:59.123456Z", "2024-05-01t10:00:00+05:30", "2024-05-01T10:00:00.5-01:00"])
    func acceptsValidTimestamps(text: String) { #expect(ISO8601Timestamp.isValid(text)) }

    @Test(arguments: ["2024-05-01", "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T10:00:00", "2024-05-01T10:00:00.Z", "2024-05-01 10:00:00Z", "2024-05-01T10:00:00+0530"])
    func rejectsInvalidTimestamps(text: String) { #expect(!ISO8601Timestamp.isValid(text)) }

    @Test func traceparentValidation() {
        #expect(TraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") != nil)
        #expect(TraceParent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra") != nil)
        #expect(TraceParent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01") == nil)
        #expect(TraceParent("00-00000000000000000000000000000000-00f067aa0ba902b7-01") == nil)
        #expect(TraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01") == nil)
        #expect(TraceParent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") == nil)
        #expect(TraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x") == nil)
        #expect(TraceParent("garbage") == nil)
    }

    @Test func fingerprintIgnoresOrderAndWhitespaceButNotContent() throws {
        func fp(_ text: String) throws -> [UInt8] { RequestFingerprint.canonicalBytes(of: try JSONParser.parse(Array(text.utf8))) }
        #expect(try fp(#"{"a":1,"b":[true,null]}"#) == fp(#" { "b" : [ true , null ] , "a" : 1 } "#))
        #expect(try fp(#"{"a":1}"#) != fp(#"{"a":2}"#))
        #expect(try fp(#"{"a":"1"}"#) != fp(#"{"a":1}"#))
        #expect(try fp(#"{"ab":"c"}"#) != fp(#"{"a":"bc"}"#))
    }
}
