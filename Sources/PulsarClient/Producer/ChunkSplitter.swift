/// Cuts a payload too big for one SEND into chunk slices: pure arithmetic, no I/O.
///
/// Every chunk carries the whole metadata again, so a chunk's payload is the broker's maximum
/// message size minus the worst-case size of one chunk frame's headers; a chunk frame then
/// never exceeds the limit.
struct ChunkSplitter: Sendable, Hashable {
    /// Payload bytes per chunk (the last one may be shorter).
    let chunkSize: Int

    init(maxMessageSize: Int, headerSize: Int) {
        self.chunkSize = max(1, maxMessageSize - headerSize)
    }

    /// Byte ranges of the chunks of a `totalSize`-byte payload, in order; one range for a payload
    /// that fits, none for an empty one.
    func ranges(totalSize: Int) -> [Range<Int>] {
        guard totalSize > 0 else { return [] }
        return stride(from: 0, to: totalSize, by: chunkSize).map { $0..<min($0 + chunkSize, totalSize) }
    }

    func chunkCount(totalSize: Int) -> Int {
        totalSize <= 0 ? 0 : (totalSize + chunkSize - 1) / chunkSize
    }

    /// The uuid every chunk of one message shares, as the reference clients build it.
    static func uuid(producerName: String, sequenceID: UInt64) -> String {
        "\(producerName)-\(sequenceID)"
    }
}
