import Foundation
import Testing
@testable import API
import OutboxCore

struct JSONWriterTests {
    private func product(name: String = "Lamp", description: String? = nil, cents: Int64 = 1999, category: String? = "home") throws -> Product {
        Product(
            id: SnowflakeID(rawValue: 385_569_949_663_363_072), name: name, description: description,
            price: try #require(Price(cents: cents)), stock: 7, category: category,
            createdAtMillis: 1_764_460_800_123, updatedAtMillis: 1_764_460_800_123
        )
    }

    @Test func productIsWrittenWithSortedKeysAndExplicitNulls() throws {
        let text = String(decoding: try product().jsonBytes, as: UTF8.self)
        #expect(text == #"{"category":"home","created_at":"2025-11-30T00:00:00.123Z","description":null,"id":"385569949663363072","name":"Lamp","price":19.99,"stock":7,"updated_at":"2025-11-30T00:00:00.123Z"}"#)
    }

    @Test(arguments: [(0, "0"), (5, "0.05"), (50, "0.5"), (500, "5"), (1990, "19.9"), (1999, "19.99"), (999_999_999_999, "9999999999.99")] as [(Int64, String)])
    func pricesAreShortestExactNumbers(cents: Int64, text: String) throws {
        #expect(try #require(Price(cents: cents)).jsonText == text)
    }

    @Test func stringsAreEscapedAndRoundTrip() throws {
        let tricky = "quote \" backslash \\ slash / newline \n tab \t nul \u{0} bell \u{7} unicode é 😀 \u{2028}"
        let bytes = try product(name: tricky, description: "d\r\u{1F}").jsonBytes
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(object["name"] as? String == tricky)
        #expect(object["description"] as? String == "d\r\u{1F}")
        #expect(object["category"] as? String == "home")
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains(#"\u0000"#) && text.contains(#"\u001f"#) && !text.contains("\n"))
    }

    @Test func eventEmbedsTheProductBytesUnchanged() throws {
        let product = try product(category: nil)
        let productJSON = product.jsonBytes
        let payload = ProductCreatedEvent.payloadBytes(eventID: SnowflakeID(rawValue: 42), product: product, productJSON: productJSON)
        let text = String(decoding: payload, as: UTF8.self)
        #expect(text == #"{"aggregate_id":"385569949663363072","aggregate_type":"product","data":"# + String(decoding: productJSON, as: UTF8.self) + #","event_id":"42","event_type":"product.created","occurred_at":"2025-11-30T00:00:00.123Z"}"#)
        #expect(try JSONSerialization.jsonObject(with: Data(payload)) is [String: Any])
    }

    @Test func pagesAndEmptyHeaders() throws {
        let page = ProductPage(items: [try product(), try product(name: "B")], next: nil)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(page.jsonBytes)) as? [String: Any])
        #expect((object["items"] as? [Any])?.count == 2)
        #expect(object["next"] is NSNull)
        #expect(String(decoding: ProductPage(items: [], next: "9").jsonBytes, as: UTF8.self) == #"{"items":[],"next":"9"}"#)
    }
}
