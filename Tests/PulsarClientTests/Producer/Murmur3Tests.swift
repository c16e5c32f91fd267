import Testing
@testable import PulsarClient

@Suite struct Murmur3Tests {
    // Reference vectors of MurmurHash3_x86_32 (the algorithm behind the Java client's Murmur3_32Hash).
    @Test func referenceVectors() {
        #expect(Murmur3.hash32([UInt8]()) == 0)
        #expect(Murmur3.hash32([UInt8](), seed: 1) == 0x514E_28B7)
        #expect(Murmur3.hash32([0, 0, 0, 0]) == 0x2362_F9DE)
        #expect(Murmur3.hash32(Array("aaaa".utf8), seed: 0x9747_B28C) == 0x5A97_808A)
        #expect(Murmur3.hash32(Array("Hello, world!".utf8), seed: 0x9747_B28C) == 0x2488_4CBA)
        #expect(Murmur3.hash32(Array("The quick brown fox jumps over the lazy dog".utf8), seed: 0x9747_B28C) == 0x2FA8_26CD)
        #expect(Murmur3.hash32(Array("hello".utf8)) == 0x248B_FA47)
    }

    @Test func tailLengthsOneToThree() {
        #expect(Murmur3.hash32(Array("a".utf8), seed: 0x9747_B28C) == 0x7FA0_9EA6)
        #expect(Murmur3.hash32(Array("aa".utf8), seed: 0x9747_B28C) == 0x5D21_1726)
        #expect(Murmur3.hash32(Array("aaa".utf8), seed: 0x9747_B28C) == 0x283E_0130)
    }

    @Test func partitionIsNonNegativeAndStable() {
        for key in ["", "a", "order-42", "ключ", "🙂"] {
            let partition = Murmur3.partition(forKey: key, partitions: 7)
            #expect((0..<7).contains(partition))
            #expect(partition == Murmur3.partition(forKey: key, partitions: 7))
        }
        // (0x248BFA47 & Int32.max) % 10 = 613153351 % 10
        #expect(Murmur3.partition(forKey: "hello", partitions: 10) == 1)
    }
}
