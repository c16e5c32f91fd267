/// Splits a migration file into single statements, because the extended query protocol runs one
/// statement at a time. Semicolons inside quotes, quoted identifiers, dollar-quoted bodies
/// (`DO $$ … $$`, `$fn$ … $fn$`) and comments do not split.
public enum SQLStatementSplitter {
    public static func split(_ sql: String) -> [String] {
        let chars = Array(sql.unicodeScalars)
        var statements: [String] = []
        var current = String.UnicodeScalarView()
        var index = 0

        func flush() {
            let text = String(current).trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty && !isOnlyComments(text) { statements.append(text) }
            current = String.UnicodeScalarView()
        }

        while index < chars.count {
            let c = chars[index]
            let next: Unicode.Scalar? = index + 1 < chars.count ? chars[index + 1] : nil
            if c == "-" && next == "-" {
                while index < chars.count && chars[index] != "\n" { current.append(chars[index]); index += 1 }
                continue
            }
            if c == "/" && next == "*" {
                var depth = 0
                repeat {
                    if chars[index] == "/" && index + 1 < chars.count && chars[index + 1] == "*" { depth += 1; current.append("/"); current.append("*"); index += 2; continue }
                    if chars[index] == "*" && index + 1 < chars.count && chars[index + 1] == "/" { depth -= 1; current.append("*"); current.append("/"); index += 2; continue }
                    current.append(chars[index]); index += 1
                } while depth > 0 && index < chars.count
                continue
            }
            if c == "'" || c == "\"" {
                current.append(c); index += 1
                while index < chars.count {
                    current.append(chars[index])
                    if chars[index] == c {
                        // A doubled quote is an escaped quote, not the end.
                        if index + 1 < chars.count && chars[index + 1] == c { current.append(c); index += 2; continue }
                        index += 1
                        break
                    }
                    index += 1
                }
                continue
            }
            if c == "$", let tag = dollarTag(chars, at: index) {
                for s in tag { current.append(s) }
                index += tag.count
                while index < chars.count {
                    if chars[index] == "$", Array(chars[index..<min(chars.count, index + tag.count)]) == tag {
                        for s in tag { current.append(s) }
                        index += tag.count
                        break
                    }
                    current.append(chars[index]); index += 1
                }
                continue
            }
            if c == ";" {
                flush()
                index += 1
                continue
            }
            current.append(c)
            index += 1
        }
        flush()
        return statements
    }

    /// `$$` or `$tag$` starting at `index`, if any.
    private static func dollarTag(_ chars: [Unicode.Scalar], at index: Int) -> [Unicode.Scalar]? {
        var end = index + 1
        while end < chars.count, chars[end] == "_" || chars[end].properties.isAlphabetic || (end > index + 1 && chars[end].properties.numericType != nil) {
            end += 1
        }
        guard end < chars.count, chars[end] == "$" else { return nil }
        return Array(chars[index...end])
    }

    private static func isOnlyComments(_ text: String) -> Bool {
        text.split(separator: "\n").allSatisfy { $0.trimmingCharacters(in: .whitespaces).hasPrefix("--") || $0.trimmingCharacters(in: .whitespaces).isEmpty }
    }
}

import Foundation
