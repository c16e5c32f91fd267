import NIOCore

/// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum Pulsar puts in payload frames.
///
/// Slicing-by-8: eight 256-entry tables let the loop consume eight bytes per step, which keeps
/// checksumming well below the cost of a syscall even for large batches.
public enum CRC32C {
    /// Checksum of `bytes`, continuing from `crc` (pass 0 to start).
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        Tables.shared.update(~crc, bytes) ^ 0xFFFF_FFFF
    }

    /// Checksum of a byte array.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// Checksum of the readable bytes of `buffer` (the reader index is not moved).
    public static func checksum(_ buffer: ByteBuffer) -> UInt32 {
        buffer.withUnsafeReadableBytes { checksum($0) }
    }

    /// Checksum of `length` bytes of `buffer` starting at absolute index `index`, or nil when the range is outside the buffer.
    public static func checksum(_ buffer: ByteBuffer, at index: Int, length: Int) -> UInt32? {
        guard let view = buffer.viewBytes(at: index, length: length) else { return nil }
        return view.withUnsafeBytes { checksum($0) }
    }

    @usableFromInline
    final class Tables: Sendable {
        @usableFromInline static let shared = Tables()

        /// `table[k * 256 + b]`: CRC contribution of byte `b` followed by `k` zero bytes.
        @usableFromInline let table: [UInt32]

        init() {
            var table = [UInt32](repeating: 0, count: 8 * 256)
            for byte in 0..<256 {
                var crc = UInt32(byte)
                for _ in 0..<8 {
                    crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1
                }
                table[byte] = crc
            }
            for byte in 0..<256 {
                var crc = table[byte]
                for slice in 1..<8 {
                    crc = table[Int(crc & 0xFF)] ^ (crc >> 8)
                    table[slice * 256 + byte] = crc
                }
            }
            self.table = table
        }

        @inlinable
        func update(_ start: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
            var crc = start
            guard let base = bytes.baseAddress else { return crc }
            let count = bytes.count
            return self.table.withUnsafeBufferPointer { t in
                var index = 0
                while count - index >= 8 {
                    let low = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt32.self)) ^ crc
                    let high = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: index + 4, as: UInt32.self))
                    crc = t[7 * 256 + Int(low & 0xFF)]
                        ^ t[6 * 256 + Int((low >> 8) & 0xFF)]
                        ^ t[5 * 256 + Int((low >> 16) & 0xFF)]
                        ^ t[4 * 256 + Int(low >> 24)]
                        ^ t[3 * 256 + Int(high & 0xFF)]
                        ^ t[2 * 256 + Int((high >> 8) & 0xFF)]
                        ^ t[1 * 256 + Int((high >> 16) & 0xFF)]
                        ^ t[Int(high >> 24)]
                    index &+= 8
                }
                while index < count {
                    let byte = base.load(fromByteOffset: index, as: UInt8.self)
                    crc = t[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
                    index &+= 1
                }
                return crc
            }
        }
    }
}
