import OutboxCore

/// Why an event went to the dead-letter topic: the error's code and detail, as properties.
public struct DeadLetterReason: Sendable, Hashable, CustomStringConvertible {
    /// A short stable name, the `reason` label of the dead-letter counter (`invalidHeaders`, ...).
    public var code: String
    public var detail: String
    public var column: String?

    public init(code: String, detail: String, column: String? = nil) {
        self.code = code
        self.detail = String(detail.prefix(500))
        self.column = column
    }

    init(_ error: OutboxMappingError) {
        self.init(code: error.code.description, detail: error.description, column: error.column)
    }

    public var description: String { "\(code): \(detail)" }
}

/// Where a dead letter came from, for its properties.
public struct DeadLetterOrigin: Sendable, Hashable {
    public var topic: String
    public var slotName: String
    public var table: OutboxTable

    public init(topic: String, slotName: String, table: OutboxTable) {
        self.topic = topic
        self.slotName = slotName
        self.table = table
    }
}

/// Builds the dead-letter message of an outbox row that cannot become an event. Pure.
///
/// The payload is a JSON object of every column as text (NULL as null), so nothing of the row is
/// lost; a payload over the size limit is left out and its size given instead. It keeps the
/// sequence id the row would have had, so a replay deduplicates like any other event.
public enum DeadLetterMessage {
    public static func make(
        columns: [(name: String, value: ColumnValue)],
        omitting omittedColumn: String? = nil,
        reason: DeadLetterReason,
        commitLSN: UInt64,
        commitTime: Int64,
        sequenceID: Int64,
        origin: DeadLetterOrigin
    ) -> OutboxMessage {
        var writer = JSONWriter(capacity: 256 + columns.reduce(0) { $0 + $1.name.utf8.count + $1.value.byteCount })
        var properties: [String: String] = [:]
        writer.beginObject()
        for (name, value) in columns {
            if name == omittedColumn {
                properties["\(name)_bytes"] = String(value.byteCount)
                continue
            }
            writer.dynamicKey(name)
            switch value {
            case .null, .unchangedToast: writer.null()
            case .text(let bytes): writer.string(String(decoding: bytes, as: UTF8.self))
            case .binary(let bytes): writer.string("\\x" + bytes.map { hexByte($0) }.joined())
            }
        }
        writer.endObject()
        let text = { (name: String) -> String? in
            guard let column = columns.first(where: { $0.name == name }), case .text(let bytes) = column.value else { return nil }
            return String(validating: bytes, as: UTF8.self)
        }
        let eventID = text("id").flatMap { Int64($0) }
        let aggregateID = text("aggregate_id")
        if let eventID { properties["event_id"] = String(eventID) }
        if let aggregateID { properties["aggregate_id"] = aggregateID }
        if let eventType = text("event_type") { properties["event_type"] = eventType }
        properties["dead_letter_reason"] = reason.code
        properties["dead_letter_detail"] = reason.detail
        if let column = reason.column { properties["dead_letter_column"] = column }
        properties["commit_lsn"] = LSNFormat.string(commitLSN)
        properties["slot"] = origin.slotName
        properties["table"] = origin.table.description
        return OutboxMessage(
            topic: origin.topic,
            payload: writer.bytes,
            key: aggregateID ?? "",
            properties: properties,
            eventTime: UInt64(clamping: max(0, commitTime / 1000)),
            sequenceID: sequenceID,
            eventID: eventID ?? -1
        )
    }

    /// The dead letter of an event that mapped but that the broker refused for good (its topic
    /// does not exist or is closed to us, say): its columns rebuilt from the message.
    public static func make(rejected message: OutboxMessage, reason: DeadLetterReason, commitLSN: UInt64, commitTime: Int64, origin: DeadLetterOrigin) -> OutboxMessage {
        let own: Set<String> = ["event_id", "event_type", "aggregate_type", "aggregate_id", "created_at"]
        var headers = JSONWriter()
        headers.beginObject()
        for (key, value) in message.properties.sorted(by: { $0.key < $1.key }) where !own.contains(key) {
            headers.dynamicKey(key)
            headers.string(value)
        }
        headers.endObject()
        let textColumn = { (value: String?) -> ColumnValue in value.map { .text(Array($0.utf8)) } ?? .null }
        var deadLetter = make(
            columns: [
                ("id", .text(Array(String(message.eventID).utf8))),
                ("aggregate_type", textColumn(message.properties["aggregate_type"])),
                ("aggregate_id", .text(Array(message.key.utf8))),
                ("event_type", textColumn(message.properties["event_type"])),
                ("payload", .text(message.payload)),
                ("headers", .text(headers.bytes)),
                ("created_at", textColumn(message.properties["created_at"])),
            ],
            reason: reason, commitLSN: commitLSN, commitTime: commitTime, sequenceID: message.sequenceID, origin: origin)
        deadLetter.properties["original_topic"] = message.topic
        return deadLetter
    }

    /// The last resort when the dead-letter topic refused a letter (too large, say): its
    /// properties with an empty payload and the payload's size.
    public static func withoutPayload(_ letter: OutboxMessage) -> OutboxMessage {
        var minimal = letter
        minimal.properties["payload_bytes"] = String(letter.payload.count)
        minimal.properties["payload_omitted"] = "true"
        minimal.payload = []
        return minimal
    }

    private static let hexDigits = Array("0123456789abcdef")

    private static func hexByte(_ byte: UInt8) -> String {
        String([hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]])
    }
}

extension ColumnValue {
    var byteCount: Int {
        switch self {
        case .null, .unchangedToast: 0
        case .text(let bytes), .binary(let bytes): bytes.count
        }
    }
}
