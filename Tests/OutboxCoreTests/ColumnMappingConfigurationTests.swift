import Foundation
import Testing
@testable import OutboxCore

@Suite struct ColumnMappingConfigurationTests {
    @Test func defaultsAreTheProjectsOwnOutbox() throws {
        let config = try ConfigurationLoader(environment: [:]).load(file: nil, overrides: [])
        #expect(config.relay.table == "outbox")
        #expect(config.relay.columns == OutboxColumnMapping())
        #expect(config.relay.columns.columns.map(\.column) == ["id", "aggregate_type", "aggregate_id", "event_type", "payload", "created_at", "headers"])
    }

    @Test func aPollingOutboxIsMappedFromAFileAndTheEnvironment() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mapping-\(UUID().uuidString).yaml").path
        try """
            relay:
              table: legacy.outbox
              columns:
                aggregate_type: "'product'"
                aggregate_id: ""
                created_at: created
                headers: ""
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try ConfigurationLoader(environment: ["RELAY_COLUMNS_PAYLOAD": "body"]).load(file: path, overrides: ["relay.columns.event_type=kind"])
        #expect(config.relay.table == "legacy.outbox")
        #expect(config.relay.columns.id == .column("id"))
        #expect(config.relay.columns.aggregateType == .constant("product"))
        #expect(config.relay.columns.aggregateID == .absent)
        #expect(config.relay.columns.eventType == .column("kind"))
        #expect(config.relay.columns.payload == .column("body"))
        #expect(config.relay.columns.createdAt == .column("created"))
        #expect(config.relay.columns.headers == .absent)
        #expect(config.description.contains("relay.columns.aggregate_type='product'"))
    }

    @Test(arguments: [
        ("relay.columns.id=", "a column name is required"),
        ("relay.columns.payload='x'", "takes a column name"),
        ("relay.columns.aggregate_type=", "a column name is required"),
        ("relay.columns.created_at='2020-01-01'", "takes a column name"),
        ("relay.columns.event_type='unterminated", "between single quotes"),
        ("relay.columns.id=1st", "is not a column name"),
        ("relay.columns.id=a b", "is not a column name"),
        ("relay.table=a.b.c", "must be a table or schema.table"),
        ("relay.table=Outbox", "must be a table or schema.table"),
    ])
    func badMappingsAreNamedConfigurationErrors(_ flag: String, _ reason: String) {
        do {
            _ = try ConfigurationLoader(environment: [:]).load(file: nil, overrides: [flag])
            Issue.record("\(flag) was accepted")
        } catch {
            #expect(error.code == .invalidValue || error.code == .missingValue)
            #expect(error.key == String(flag.prefix { $0 != "=" }))
            #expect(error.reason.contains(reason), "\(error.reason)")
        }
    }
}
