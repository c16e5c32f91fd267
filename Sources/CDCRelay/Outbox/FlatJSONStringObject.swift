/// Parses the common shape of the outbox `headers` column — a JSON object whose values are all
/// plain strings, such as `{"traceparent": "00-…"}` — without Foundation (whose parser and
/// bridging cost more than the rest of an event's mapping).
///
/// Returns nil for anything else (escapes, non-string values, duplicate keys, invalid JSON):
/// the caller then takes the general path, which decides and reports errors. So this is purely
/// a shortcut: whenever it answers, the general path would have answered the same.
enum FlatJSONStringObject {
    static func parse(_ bytes: [UInt8]) -> [String: String]? {
        bytes.withUnsafeBufferPointer { parse($0) }
    }

    private static func parse(_ input: UnsafeBufferPointer<UInt8>) -> [String: String]? {
        var index = 0
        func skipWhitespace() {
            while index < input.count {
                switch input[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }
        /// A string without escapes or control characters, valid UTF-8.
        func string() -> String? {
            guard index < input.count, input[index] == UInt8(ascii: "\"") else { return nil }
            index += 1
            let start = index
            while index < input.count {
                let byte = input[index]
                if byte == UInt8(ascii: "\"") {
                    let text = String(validating: UnsafeBufferPointer(rebasing: input[start..<index]), as: UTF8.self)
                    index += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
                index += 1
            }
            return nil
        }

        skipWhitespace()
        guard index < input.count, input[index] == UInt8(ascii: "{") else { return nil }
        index += 1
        var result: [String: String] = [:]
        skipWhitespace()
        if index < input.count, input[index] == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                skipWhitespace()
                guard let key = string() else { return nil }
                skipWhitespace()
                guard index < input.count, input[index] == UInt8(ascii: ":") else { return nil }
                index += 1
                skipWhitespace()
                guard let value = string() else { return nil }
                guard result.updateValue(value, forKey: key) == nil else { return nil }
                skipWhitespace()
                guard index < input.count else { return nil }
                if input[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard input[index] == UInt8(ascii: "}") else { return nil }
                index += 1
                break
            }
        }
        skipWhitespace()
        return index == input.count ? result : nil
    }
}
