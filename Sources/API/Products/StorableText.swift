/// Text that Postgres `text` columns can store. Swift strings are valid Unicode already (the JSON
/// parser guarantees it); the one code point Postgres refuses in text is NUL.
enum StorableText {
    /// Why `text` cannot be stored, or nil.
    static func problem(in text: String) -> String? {
        text.utf8.contains(0) ? "must not contain the NUL character (\\u0000): Postgres text cannot store it" : nil
    }
}
