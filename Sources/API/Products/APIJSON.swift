#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

enum APIJSON {
    /// Sorted keys: the same value always encodes to the same bytes (POST, GET, replay, event).
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
