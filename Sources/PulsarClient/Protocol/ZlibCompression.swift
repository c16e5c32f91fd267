import CZlib
import NIOCore

/// ZLIB (RFC 1950) compression as Pulsar's CompressionType.ZLIB expects it (Java Deflater / zlib compress).
public enum ZlibCompression {
    public static func compress(_ input: ByteBuffer, allocator: ByteBufferAllocator = ByteBufferAllocator()) throws(PulsarFrameError) -> ByteBuffer {
        let bound = Int(compressBound(uLong(input.readableBytes)))
        var output = allocator.buffer(capacity: bound)
        var status: Int32 = Z_OK
        output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { out in
            input.withUnsafeReadableBytes { source in
                var written = uLongf(out.count)
                status = compress2(
                    out.baseAddress?.assumingMemoryBound(to: Bytef.self), &written,
                    source.baseAddress?.assumingMemoryBound(to: Bytef.self), uLong(source.count), Z_DEFAULT_COMPRESSION)
                return status == Z_OK ? Int(written) : 0
            }
        }
        guard status == Z_OK else {
            throw PulsarFrameError(code: .encodingFailed, detail: "zlib compress2 failed with status \(status)")
        }
        return output
    }

    /// Inflates a ZLIB stream whose uncompressed size is known from the metadata.
    public static func decompress(_ input: ByteBuffer, uncompressedSize: Int, allocator: ByteBufferAllocator = ByteBufferAllocator()) throws(PulsarFrameError) -> ByteBuffer {
        guard uncompressedSize >= 0 else {
            throw PulsarFrameError(code: .invalidMetadata, detail: "negative uncompressed size")
        }
        var output = allocator.buffer(capacity: max(uncompressedSize, 1))
        var status: Int32 = Z_OK
        var produced = 0
        output.writeWithUnsafeMutableBytes(minimumWritableBytes: max(uncompressedSize, 1)) { out in
            input.withUnsafeReadableBytes { source in
                var written = uLongf(uncompressedSize)
                status = uncompress(
                    out.baseAddress?.assumingMemoryBound(to: Bytef.self), &written,
                    source.baseAddress?.assumingMemoryBound(to: Bytef.self), uLong(source.count))
                produced = Int(written)
                return status == Z_OK ? produced : 0
            }
        }
        guard status == Z_OK, produced == uncompressedSize else {
            throw PulsarFrameError(code: .invalidMetadata, detail: "zlib inflate failed (status \(status), \(produced) of \(uncompressedSize) bytes)")
        }
        return output
    }
}
