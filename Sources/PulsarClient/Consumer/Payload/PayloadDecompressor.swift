import CLZ4
import CSnappy
import CZlib
import CZstd
import NIOCore

/// Inflates a message payload (a single payload or a whole batch) compressed by a producer.
///
/// Pulsar producers compress with raw block formats and announce the inflated length in
/// `MessageMetadata.uncompressed_size`, so every codec decodes into a buffer of exactly that size
/// and anything else is a corrupt message.
struct PayloadDecompressor: Sendable {
    /// The wire values of `CompressionType`, kept as raw numbers so an unknown future codec is
    /// reported as unsupported instead of being confused with NONE.
    struct Codec: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        var rawValue: Int
        init(rawValue: Int) { self.rawValue = rawValue }

        static let none = Codec(rawValue: 0)
        static let lz4 = Codec(rawValue: 1)
        static let zlib = Codec(rawValue: 2)
        static let zstd = Codec(rawValue: 3)
        static let snappy = Codec(rawValue: 4)

        var description: String {
            switch self {
            case .none: "NONE"
            case .lz4: "LZ4"
            case .zlib: "ZLIB"
            case .zstd: "ZSTD"
            case .snappy: "SNAPPY"
            default: "codec #\(rawValue)"
            }
        }
    }

    /// Upper bound on an announced inflated size; a hostile `uncompressed_size` must not make us
    /// allocate gigabytes. Pulsar's own maximum message size is 5 MiB by default.
    var maximumUncompressedSize: Int = 64 * 1024 * 1024

    func decompress(_ input: ByteBuffer, codec: Codec, uncompressedSize: Int) throws(PulsarConsumerError) -> ByteBuffer {
        if codec == .none { return input }
        guard [Codec.lz4, .zlib, .zstd, .snappy].contains(codec) else {
            throw PulsarConsumerError(code: .unsupportedCompression, detail: "compression \(codec) is not supported")
        }
        guard uncompressedSize >= 0, uncompressedSize <= maximumUncompressedSize else {
            throw PulsarConsumerError(
                code: .decompressionFailed,
                detail: "\(codec): announced uncompressed size \(uncompressedSize) outside 0...\(maximumUncompressedSize)"
            )
        }
        // At least one writable byte so the C APIs always get a real pointer, even for empty payloads.
        var output = ByteBufferAllocator().buffer(capacity: max(1, uncompressedSize))
        var inflated = -1
        input.withUnsafeReadableBytes { source in
            _ = output.writeWithUnsafeMutableBytes(minimumWritableBytes: max(1, uncompressedSize)) { target in
                inflated = Self.inflate(codec: codec, source: source, target: target, expected: uncompressedSize)
                return inflated == uncompressedSize ? inflated : 0
            }
        }
        // A codec error (-1) or a short/long result both mean the message is corrupt.
        guard inflated == uncompressedSize else {
            throw PulsarConsumerError(
                code: .decompressionFailed,
                detail: inflated < 0
                    ? "\(codec): the codec rejected the compressed bytes"
                    : "\(codec): inflated \(inflated) bytes, metadata announced \(uncompressedSize)"
            )
        }
        return output
    }

    /// Returns the number of bytes written, or -1 when the codec rejects the input.
    private static func inflate(
        codec: Codec,
        source: UnsafeRawBufferPointer,
        target: UnsafeMutableRawBufferPointer,
        expected: Int
    ) -> Int {
        guard let targetBase = target.baseAddress, target.count >= expected else { return -1 }
        // An empty source still needs a valid pointer for the C APIs.
        let emptyByte: UInt8 = 0
        return withUnsafePointer(to: emptyByte) { emptyPointer -> Int in
            let sourceBase = source.baseAddress ?? UnsafeRawPointer(emptyPointer)
            switch codec {
            case .lz4:
                guard source.count <= Int(Int32.max), expected <= Int(Int32.max) else { return -1 }
                let result = LZ4_decompress_safe(
                    sourceBase.assumingMemoryBound(to: CChar.self),
                    targetBase.assumingMemoryBound(to: CChar.self),
                    Int32(source.count),
                    Int32(expected)
                )
                return result < 0 ? -1 : Int(result)
            case .zlib:
                var length = uLongf(expected)
                let status = uncompress(
                    targetBase.assumingMemoryBound(to: Bytef.self),
                    &length,
                    sourceBase.assumingMemoryBound(to: Bytef.self),
                    uLong(source.count)
                )
                return status == Z_OK ? Int(length) : -1
            case .zstd:
                let result = ZSTD_decompress(targetBase, expected, sourceBase, source.count)
                return ZSTD_isError(result) != 0 ? -1 : Int(result)
            case .snappy:
                var length = 0
                let chars = sourceBase.assumingMemoryBound(to: CChar.self)
                guard snappy_uncompressed_length(chars, source.count, &length) == SNAPPY_OK, length == expected else {
                    return -1
                }
                let status = snappy_uncompress(chars, source.count, targetBase.assumingMemoryBound(to: CChar.self), &length)
                return status == SNAPPY_OK ? length : -1
            default:
                return -1
            }
        }
    }
}
