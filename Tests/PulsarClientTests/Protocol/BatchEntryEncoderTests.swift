import NIOCore
import SwiftProtobuf
import Testing
@testable import PulsarClient

/// The hand-written batch entry must be byte-for-byte what SwiftProtobuf writes for the same
/// SingleMessageMetadata, followed by the payload.
@Suite struct BatchEntryEncoderTests {
    func reference(sequenceID: UInt64, key: String?, eventTime: UInt64?, properties: [(key: String, value: String)], payload: [UInt8]) throws -> [UInt8] {
        var single = Pulsar_Proto_SingleMessageMetadata()
        single.payloadSize = Int32(payload.count)
        single.sequenceID = sequenceID
        if let key { single.partitionKey = key }
        if let eventTime { single.eventTime = eventTime }
        single.properties = properties.map { pair in
            var keyValue = Pulsar_Proto_KeyValue()
            keyValue.key = pair.key
            keyValue.value = pair.value
            return keyValue
        }
        let metadata: [UInt8] = try single.serializedBytes()
        var bytes: [UInt8] = []
        let size = UInt32(metadata.count)
        bytes += [UInt8(size >> 24), UInt8(size >> 16 & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF)]
        return bytes + metadata + payload
    }

    func encoded(sequenceID: UInt64, key: String?, eventTime: UInt64?, properties: [(key: String, value: String)], payload: [UInt8]) -> [UInt8] {
        var buffer = ByteBuffer()
        BatchEntryEncoder.write(
            sequenceID: sequenceID, key: key, eventTime: eventTime, properties: properties,
            payload: ByteBuffer(bytes: payload), into: &buffer)
        return Array(buffer.readableBytesView)
    }

    struct Case {
        var sequenceID: UInt64
        var key: String?
        var eventTime: UInt64?
        var properties: [(key: String, value: String)]
        var payload: [UInt8]
    }

    @Test func matchesSwiftProtobuf() throws {
        let cases = [
            Case(sequenceID: 0, key: nil, eventTime: nil, properties: [], payload: []),
            Case(
                sequenceID: 42, key: "aggregate-1", eventTime: 1_764_446_903_123,
                properties: [("event_id", "7"), ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")],
                payload: Array("{\"a\": 1}".utf8)),
            Case(sequenceID: .max, key: "", eventTime: .max, properties: [("", ""), ("ключ", "значение ✓")], payload: [UInt8](repeating: 0xAB, count: 300)),
            Case(
                sequenceID: 1 << 40, key: "k", eventTime: nil,
                properties: [(String(repeating: "p", count: 200), String(repeating: "v", count: 20_000))],
                payload: [UInt8](repeating: 1, count: 70_000)),
        ]
        for item in cases {
            let expected = try reference(sequenceID: item.sequenceID, key: item.key, eventTime: item.eventTime, properties: item.properties, payload: item.payload)
            let actual = encoded(sequenceID: item.sequenceID, key: item.key, eventTime: item.eventTime, properties: item.properties, payload: item.payload)
            #expect(actual == expected, "sequence id \(item.sequenceID)")
        }
    }

    @Test func entriesAppendToWhatIsAlreadyInTheBuffer() throws {
        var buffer = ByteBuffer(bytes: [9, 9, 9])
        BatchEntryEncoder.write(sequenceID: 1, key: "a", eventTime: 2, properties: [("k", "v")], payload: ByteBuffer(bytes: [1]), into: &buffer)
        BatchEntryEncoder.write(sequenceID: 2, key: nil, eventTime: nil, properties: [], payload: ByteBuffer(bytes: [2, 3]), into: &buffer)
        let first = try reference(sequenceID: 1, key: "a", eventTime: 2, properties: [("k", "v")], payload: [1])
        let second = try reference(sequenceID: 2, key: nil, eventTime: nil, properties: [], payload: [2, 3])
        #expect(Array(buffer.readableBytesView) == [9, 9, 9] + first + second)
    }
}
