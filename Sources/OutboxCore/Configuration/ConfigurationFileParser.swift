/// Reads the YAML subset our configuration files use into dotted key paths.
///
/// Supported: nested block mappings by indentation, flow mappings (`database: { host: x, port: 5432 }`),
/// plain, single- and double-quoted scalars, `#` comments and blank lines. Anything else (lists,
/// anchors, multi-line scalars, tabs for indentation) is rejected with the line it is on, rather than
/// guessed at: a configuration file that is not understood must not start a daemon.
public struct ConfigurationFileParser {
    public init() {}

    public func parse(_ text: String, source: String) throws(ConfigurationError) -> [(path: String, value: String, line: Int)] {
        var result: [(path: String, value: String, line: Int)] = []
        // Open mappings: (indentation, key) from the outermost in.
        var stack: [(indent: Int, key: String)] = []

        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let where_ = "\(source):\(lineNumber)"
            var line = Substring(stripComment(String(rawLine)))
            while line.last == " " || line.last == "\r" { line.removeLast() }
            if line.allSatisfy({ $0 == " " }) { continue }
            if line.hasPrefix("\t") || line.contains("\t") && line.prefix(while: { $0 == " " || $0 == "\t" }).contains("\t") {
                throw malformed(where_, "tabs are not allowed for indentation")
            }
            if line == "---" { continue }
            let indent = line.prefix(while: { $0 == " " }).count
            let content = line.dropFirst(indent)
            if content.hasPrefix("- ") || content == "-" {
                throw malformed(where_, "lists are not used in this configuration")
            }
            guard let colon = keySeparator(in: content) else {
                throw malformed(where_, "expected 'key: value'")
            }
            let key = unquote(String(content[..<colon]).trimmingSpaces())
            guard !key.isEmpty else { throw malformed(where_, "empty key") }
            let valueText = String(content[content.index(after: colon)...]).trimmingSpaces()

            while let last = stack.last, last.indent >= indent { stack.removeLast() }
            let prefix = stack.map(\.key)

            if valueText.isEmpty {
                stack.append((indent, key))
            } else if valueText.hasPrefix("{") {
                for (subkey, value) in try parseFlowMapping(valueText, where_) {
                    result.append(((prefix + [key, subkey]).joined(separator: "."), value, lineNumber))
                }
            } else {
                result.append(((prefix + [key]).joined(separator: "."), try scalar(valueText, where_), lineNumber))
            }
        }
        return result
    }

    private func malformed(_ source: String, _ reason: String) -> ConfigurationError {
        ConfigurationError(code: .malformedFile, source: source, reason: reason)
    }

    /// Drops a `#` comment that is not inside quotes.
    private func stripComment(_ line: String) -> String {
        var quote: Character? = nil
        var previous: Character = " "
        for (offset, char) in line.enumerated() {
            if let q = quote {
                if char == q { quote = nil }
            } else if char == "\"" || char == "'" {
                quote = char
            } else if char == "#" && (previous == " " || offset == 0) {
                return String(line.prefix(offset))
            }
            previous = char
        }
        return line
    }

    /// The colon that separates a key from its value: followed by a space or the end, outside quotes.
    private func keySeparator(in content: Substring) -> Substring.Index? {
        var quote: Character? = nil
        var index = content.startIndex
        while index < content.endIndex {
            let char = content[index]
            if let q = quote {
                if char == q { quote = nil }
            } else if char == "\"" || char == "'" {
                quote = char
            } else if char == ":" {
                let next = content.index(after: index)
                if next == content.endIndex || content[next] == " " { return index }
            }
            index = content.index(after: index)
        }
        return nil
    }

    private func parseFlowMapping(_ text: String, _ source: String) throws(ConfigurationError) -> [(String, String)] {
        guard text.hasSuffix("}") else { throw malformed(source, "a flow mapping must end with '}' on the same line") }
        let inner = text.dropFirst().dropLast()
        var entries: [(String, String)] = []
        for part in splitOutsideQuotes(inner, separator: ",") {
            let entry = part.trimmingSpaces()
            if entry.isEmpty { continue }
            guard let colon = keySeparator(in: Substring(entry)) else {
                throw malformed(source, "expected 'key: value' inside { }, got '\(entry)'")
            }
            let key = unquote(String(entry[..<colon]).trimmingSpaces())
            let value = String(entry[entry.index(after: colon)...]).trimmingSpaces()
            if value.hasPrefix("{") || value.hasPrefix("[") {
                throw malformed(source, "nested collections inside { } are not supported")
            }
            entries.append((key, try scalar(value, source)))
        }
        return entries
    }

    private func splitOutsideQuotes(_ text: Substring, separator: Character) -> [String] {
        var parts: [String] = []
        var current = ""
        var quote: Character? = nil
        for char in text {
            if let q = quote {
                if char == q { quote = nil }
                current.append(char)
            } else if char == "\"" || char == "'" {
                quote = char
                current.append(char)
            } else if char == separator {
                parts.append(current)
                current = ""
            } else {
                current.append(char)
            }
        }
        parts.append(current)
        return parts
    }

    private func scalar(_ text: String, _ source: String) throws(ConfigurationError) -> String {
        if text.hasPrefix("\"") {
            guard text.count >= 2, text.hasSuffix("\"") else { throw malformed(source, "unterminated double-quoted string") }
            return try unescapeDoubleQuoted(String(text.dropFirst().dropLast()), source)
        }
        if text.hasPrefix("'") {
            guard text.count >= 2, text.hasSuffix("'") else { throw malformed(source, "unterminated single-quoted string") }
            return String(text.dropFirst().dropLast()).replacingAll("''", with: "'")
        }
        if text.hasPrefix("[") || text.hasPrefix("&") || text.hasPrefix("*") || text.hasPrefix("|") || text.hasPrefix(">") {
            throw malformed(source, "'\(text)' uses YAML features this configuration does not support")
        }
        if text == "~" || text == "null" { return "" }
        return text
    }

    private func unescapeDoubleQuoted(_ text: String, _ source: String) throws(ConfigurationError) -> String {
        var out = ""
        var escaping = false
        for char in text {
            if escaping {
                switch char {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "\"", "\\", "/": out.append(char)
                default: throw malformed(source, "unsupported escape '\\\(char)'")
                }
                escaping = false
            } else if char == "\\" {
                escaping = true
            } else {
                out.append(char)
            }
        }
        if escaping { throw malformed(source, "string ends with a lone backslash") }
        return out
    }

    private func unquote(_ key: String) -> String {
        if key.count >= 2, let first = key.first, first == "\"" || first == "'", key.last == first {
            return String(key.dropFirst().dropLast())
        }
        return key
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }

    func replacingAll(_ target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
