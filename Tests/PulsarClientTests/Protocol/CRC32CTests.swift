import NIOCore
import Testing
@testable import PulsarClient

@Suite struct CRC32CTests {
    @Test func checkValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    // RFC 3720 (iSCSI) appendix B.4 vectors.
    @Test func rfc3720Vectors() {
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }) == 0x113F_DB5C)
    }

    @Test func emptyInputIsZero() {
        #expect(CRC32C.checksum([]) == 0)
    }

    /// Slicing-by-8 must agree with the bytewise definition at every length and alignment.
    @Test func slicingMatchesBitwiseReference() {
        var rng = SplitMix64(seed: 42)
        for length in 0..<70 {
            let bytes = (0..<length + 3).map { _ in UInt8.random(in: 0...255, using: &rng) }
            for offset in 0..<3 {
                let slice = Array(bytes[offset..<(offset + length)])
                #expect(CRC32C.checksum(slice) == Self.reference(slice), "length \(length) offset \(offset)")
            }
        }
    }

    @Test func continuingEqualsWhole() {
        let bytes = Array("The quick brown fox jumps over the lazy dog".utf8)
        let first = bytes[..<10].withUnsafeBytes { CRC32C.checksum($0) }
        let whole = bytes[10...].withUnsafeBytes { CRC32C.checksum($0, continuing: first) }
        #expect(whole == CRC32C.checksum(bytes))
    }

    @Test func byteBufferRange() {
        var buffer = ByteBuffer(bytes: [1, 2, 3])
        buffer.writeBytes(Array("123456789".utf8))
        #expect(CRC32C.checksum(buffer, at: 3, length: 9) == 0xE306_9283)
        #expect(CRC32C.checksum(buffer, at: 3, length: 100) == nil)
    }

    static func reference(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }
}
