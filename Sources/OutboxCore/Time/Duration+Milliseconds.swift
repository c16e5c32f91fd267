extension Duration {
    /// The duration in seconds, with its fraction (for rates and printed figures).
    public var fractionalSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// Whole milliseconds (0 for zero), truncated.
    public var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }

    /// Whole milliseconds, at least 1 (Postgres reads 0 as "no limit" for a timeout).
    public var positiveMilliseconds: Int64 {
        max(1, components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000)
    }
}
