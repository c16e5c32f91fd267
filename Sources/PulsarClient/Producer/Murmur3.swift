/// MurmurHash3 x86 32-bit, the hash the Java client uses to route keyed messages to partitions.
enum Murmur3 {
    static func hash32(_ bytes: some Collection<UInt8>, seed: UInt32 = 0) -> UInt32 {
        let c1: UInt32 = 0xCC9E_2D51
        let c2: UInt32 = 0x1B87_3593
        var h1 = seed
        var k1: UInt32 = 0
        var shift: UInt32 = 0
        var length: UInt32 = 0
        for byte in bytes {
            k1 |= UInt32(byte) << shift
            shift += 8
            length &+= 1
            if shift == 32 {
                h1 ^= mixK1(k1, c1, c2)
                h1 = (h1 << 13 | h1 >> 19) &* 5 &+ 0xE654_6B64
                k1 = 0
                shift = 0
            }
        }
        if shift > 0 { h1 ^= mixK1(k1, c1, c2) }
        h1 ^= length
        h1 ^= h1 >> 16
        h1 = h1 &* 0x85EB_CA6B
        h1 ^= h1 >> 13
        h1 = h1 &* 0xC2B2_AE35
        h1 ^= h1 >> 16
        return h1
    }

    private static func mixK1(_ k: UInt32, _ c1: UInt32, _ c2: UInt32) -> UInt32 {
        var k1 = k &* c1
        k1 = k1 << 15 | k1 >> 17
        return k1 &* c2
    }

    /// The partition the Java client's default router picks for `key`:
    /// `(murmur3_32(utf8(key)) & Int32.max) % partitions`.
    static func partition(forKey key: String, partitions: Int) -> Int {
        let hash = Int(hash32(key.utf8) & UInt32(Int32.max))
        return hash % partitions
    }
}
