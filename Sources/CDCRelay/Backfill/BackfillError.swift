/// Why a backfill or a recovery stopped. Typed, with the context an operator needs to act.
public struct BackfillError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case selectionRequired, selectionUnsupported, slotInUse, nothingToRecover, publishFailed, database, unfinishedElsewhere
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// The slot exists: rows before it cannot be told from streamed ones; name a selection.
        public static let selectionRequired = Code(.selectionRequired)
        /// `--since` without a `created_at` column in the mapping.
        public static let selectionUnsupported = Code(.selectionUnsupported)
        /// A relay streams from the slot `recover` would replace.
        public static let slotInUse = Code(.slotInUse)
        /// `recover` on a healthy slot, or without recorded progress and without a selection.
        public static let nothingToRecover = Code(.nothingToRecover)
        public static let publishFailed = Code(.publishFailed)
        public static let database = Code(.database)
        /// A run of the same name belongs to another slot.
        public static let unfinishedElsewhere = Code(.unfinishedElsewhere)
        public var description: String {
            switch base {
            case .selectionRequired: "selectionRequired"
            case .selectionUnsupported: "selectionUnsupported"
            case .slotInUse: "slotInUse"
            case .nothingToRecover: "nothingToRecover"
            case .publishFailed: "publishFailed"
            case .database: "database"
            case .unfinishedElsewhere: "unfinishedElsewhere"
            }
        }
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
