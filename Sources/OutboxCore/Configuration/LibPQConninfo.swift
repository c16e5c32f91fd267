/// libpq connection strings (`key='value' …`), for the relay's replication and monitoring
/// connections and the API's create writers. Contains the password when given: never log one.
public enum LibPQConninfo {
    /// `pairs` in order, every value single-quoted with `\` and `'` backslash-escaped (libpq's
    /// rule), so any host, user, password or database name passes through unchanged.
    public static func make(_ pairs: [(key: String, value: String)]) -> String {
        pairs.map { "\($0.key)=\(quote($0.value))" }.joined(separator: " ")
    }

    public static func quote(_ value: String) -> String {
        var quoted = "'"
        for character in value {
            if character == "\\" || character == "'" { quoted.append("\\") }
            quoted.append(character)
        }
        quoted.append("'")
        return quoted
    }

    /// One `-c name=value` run-time parameter for the `options` key: spaces and backslashes in it
    /// are backslash-escaped (the server splits `options` at unescaped spaces).
    public static func runtimeOption(name: String, value: String) -> String {
        var escaped = "-c "
        for character in "\(name)=\(value)" {
            if character == " " || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }
}
