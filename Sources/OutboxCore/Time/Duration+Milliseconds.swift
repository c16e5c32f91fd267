extension Duration {
    /// Whole milliseconds, at least 1 (Postgres reads 0 as "no limit" for a timeout).
    public var positiveMilliseconds: Int64 {
        max(1, components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000)
    }
}
