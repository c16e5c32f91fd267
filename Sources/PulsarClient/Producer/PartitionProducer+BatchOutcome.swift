extension PartitionProducer {
    /// What closing a batch (or flushing it before a chunked message) leaves to do outside the
    /// lock: a drain to schedule, completions to fail, slots to hand over.
    struct BatchOutcome {
        var drainOn: PulsarConnection?
        var failed: [(Completion, PulsarClientError)] = []
        var resolution: Machine.Resolution?

        mutating func absorb(_ other: BatchOutcome) {
            drainOn = drainOn ?? other.drainOn
            failed += other.failed
            resolution = Self.merge(resolution, other.resolution)
        }

        static func merge(_ first: Machine.Resolution?, _ second: Machine.Resolution?) -> Machine.Resolution? {
            guard var merged = first else { return second }
            guard let more = second else { return merged }
            merged.succeeded += more.succeeded
            merged.failed += more.failed
            merged.resumeWaiters += more.resumeWaiters
            merged.resolvedTotal = max(merged.resolvedTotal, more.resolvedTotal)
            return merged
        }
    }
}
