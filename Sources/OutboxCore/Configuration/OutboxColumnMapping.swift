import Foundation

/// Where one event field comes from in the outbox table: a column, a constant (written `'text'`
/// in the configuration), or nowhere (the field's documented fallback applies).
public enum OutboxColumnSource: Sendable, Hashable, CustomStringConvertible {
    case column(String)
    case constant(String)
    case absent

    /// Which forms a field accepts; checked when the configuration is loaded.
    public struct Forms: OptionSet, Sendable, Hashable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let column = Forms(rawValue: 1)
        public static let constant = Forms(rawValue: 2)
        public static let absent = Forms(rawValue: 4)
    }

    /// `name` → column, `'text'` → constant, empty → absent; anything else fails with the reason.
    public static func parse(_ raw: String, forms: Forms) -> Result<OutboxColumnSource, OutboxColumnSourceProblem> {
        let text = raw.trimmingCharacters(in: .whitespaces)
        if text.isEmpty {
            return forms.contains(.absent) ? .success(.absent) : .failure(.init(reason: "a column name is required"))
        }
        if text.hasPrefix("'") {
            guard forms.contains(.constant) else {
                return .failure(.init(reason: "'\(text)': this field takes a column name, not a constant"))
            }
            guard text.count >= 3, text.hasSuffix("'") else {
                return .failure(.init(reason: "'\(text)': a constant is written between single quotes, like 'product'"))
            }
            return .success(.constant(String(text.dropFirst().dropLast())))
        }
        guard forms.contains(.column) else { return .failure(.init(reason: "'\(text)' must be a constant")) }
        // Column names are compared with what pgoutput sends: the name as stored in the catalog.
        let valid = text.utf8.count <= 63
            && text.first.map { $0 == "_" || $0.isLetter } == true
            && text.allSatisfy { $0 == "_" || $0 == "$" || $0.isLetter || $0.isNumber }
        guard valid else {
            return .failure(.init(reason: "'\(text)' is not a column name (1–63 letters, digits, _ or $, not starting with a digit)"))
        }
        return .success(.column(text))
    }

    /// The configuration spelling: `name`, `'text'` or empty.
    public var description: String {
        switch self {
        case .column(let name): name
        case .constant(let text): "'\(text)'"
        case .absent: ""
        }
    }

    public var columnName: String? {
        if case .column(let name) = self { return name }
        return nil
    }
}

public struct OutboxColumnSourceProblem: Error, Sendable, Hashable {
    public var reason: String
}

/// Which outbox columns hold an event's fields (`relay.columns.*`). The defaults are this
/// project's own outbox; another outbox (e.g. a polling outbox with a serial id and a text
/// payload) is read by naming its columns.
public struct OutboxColumnMapping: Sendable, Hashable {
    /// The event id: an integer column (bigint, integer, smallint).
    public var id: OutboxColumnSource = .column("id")
    /// Column or constant; the routing template's `{aggregate_type}`.
    public var aggregateType: OutboxColumnSource = .column("aggregate_type")
    /// Column, or absent: the message key is then the event id.
    public var aggregateID: OutboxColumnSource = .column("aggregate_id")
    /// Column or constant.
    public var eventType: OutboxColumnSource = .column("event_type")
    /// Any column whose text form is the message payload (jsonb, json, text, ...).
    public var payload: OutboxColumnSource = .column("payload")
    /// timestamptz or timestamp (read as UTC); absent: the transaction's commit time.
    public var createdAt: OutboxColumnSource = .column("created_at")
    /// A JSON object column; absent (or a table without the named column): no headers.
    public var headers: OutboxColumnSource = .column("headers")

    public init() {}

    public static let idForms: OutboxColumnSource.Forms = [.column]
    public static let aggregateTypeForms: OutboxColumnSource.Forms = [.column, .constant]
    public static let aggregateIDForms: OutboxColumnSource.Forms = [.column, .absent]
    public static let eventTypeForms: OutboxColumnSource.Forms = [.column, .constant]
    public static let payloadForms: OutboxColumnSource.Forms = [.column]
    public static let createdAtForms: OutboxColumnSource.Forms = [.column, .absent]
    public static let headersForms: OutboxColumnSource.Forms = [.column, .absent]

    /// Every column the mapping reads, with the event field it feeds (for checks and errors).
    public var columns: [(field: String, column: String)] {
        [("id", id), ("aggregate_type", aggregateType), ("aggregate_id", aggregateID), ("event_type", eventType),
         ("payload", payload), ("created_at", createdAt), ("headers", headers)]
            .compactMap { field, source in source.columnName.map { (field, $0) } }
    }
}
