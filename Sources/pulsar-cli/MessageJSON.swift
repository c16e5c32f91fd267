import PulsarClient

import Foundation

/// The JSON line printed per consumed message. Payloads that are valid UTF-8 are printed as text;
/// anything else as base64 with `payload_encoding: "base64"`.
struct MessageJSON: Encodable {
    var id: String
    var key: String?
    var properties: [String: String]
    var publish_time: UInt64
    var event_time: UInt64?
    var producer_name: String
    var sequence_id: Int64
    var redelivery_count: UInt32
    var payload: String?
    var payload_encoding: String?
    var payload_size: Int
    /// Where the payload was written instead (consume --payload-dir).
    var payload_file: String?
    /// Number of chunks of a reassembled chunked message.
    var chunks: Int?

    init(_ message: PulsarMessage, payloadFile: String? = nil) {
        id = "\(message.id)"
        key = message.key
        properties = message.properties
        publish_time = message.publishTime
        event_time = message.eventTime
        producer_name = message.producerName
        sequence_id = message.sequenceID
        redelivery_count = message.redeliveryCount
        payload_size = message.payload.readableBytes
        chunks = message.chunkIDs.isEmpty ? nil : message.chunkIDs.count
        if let payloadFile {
            payload_file = payloadFile
            return
        }
        let bytes = message.payloadBytes
        if let text = String(validating: bytes, as: UTF8.self) {
            payload = text
            payload_encoding = "utf8"
        } else {
            payload = Data(bytes).base64EncodedString()
            payload_encoding = "base64"
        }
    }

    static func line(for message: PulsarMessage, payloadFile: String? = nil) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(MessageJSON(message, payloadFile: payloadFile)), let text = String(data: data, encoding: .utf8) else {
            return #"{"error":"message could not be encoded"}"#
        }
        return text
    }
}
