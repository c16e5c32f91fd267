import NIOCore
import Testing
@testable import PulsarClient

@Suite("Payload decompression")
struct PayloadDecompressorTests {
    static let codecs: [PayloadDecompressor.Codec] = [.lz4, .zlib, .zstd, .snappy]
    let decompressor = PayloadDecompressor()
    let original: [UInt8] = Array(String(repeating: "outbox event payload; ", count: 200).utf8) + [0, 1, 2, 255]

    @Test("each codec inflates what its C library compressed", arguments: codecs)
    func roundTrip(codec: PayloadDecompressor.Codec) throws {
        let compressed = ConsumerFixtures.compress(original, codec: codec)
        #expect(compressed.count < original.count)
        let inflated = try decompressor.decompress(ByteBuffer(bytes: compressed), codec: codec, uncompressedSize: original.count)
        #expect(Array(inflated.readableBytesView) == original)
    }

    @Test("NONE passes the bytes through untouched")
    func none() throws {
        let out = try decompressor.decompress(ByteBuffer(bytes: original), codec: .none, uncompressedSize: 0)
        #expect(Array(out.readableBytesView) == original)
    }

    @Test("an unknown codec is a typed unsupportedCompression error")
    func unknownCodec() {
        #expect(throws: PulsarConsumerError.self) {
            try decompressor.decompress(ByteBuffer(bytes: original), codec: .init(rawValue: 9), uncompressedSize: 10)
        }
        do {
            _ = try decompressor.decompress(ByteBuffer(bytes: original), codec: .init(rawValue: 9), uncompressedSize: 10)
        } catch {
            #expect(error.code == .unsupportedCompression)
            #expect(error.detail.contains("#9"))
        }
    }

    @Test("garbage input is a typed decompressionFailed error", arguments: codecs)
    func garbage(codec: PayloadDecompressor.Codec) {
        let garbage: [UInt8] = [0xff, 0xfe, 0x00, 0x13, 0x37, 0x42, 0x99, 0x11, 0xff, 0xff, 0xff, 0xff]
        #expect {
            try decompressor.decompress(ByteBuffer(bytes: garbage), codec: codec, uncompressedSize: 500)
        } throws: { error in
            (error as? PulsarConsumerError)?.code == .decompressionFailed
        }
    }

    @Test("a wrong uncompressed_size (too small or too large) is rejected", arguments: codecs)
    func wrongSize(codec: PayloadDecompressor.Codec) {
        let compressed = ConsumerFixtures.compress(original, codec: codec)
        for size in [original.count - 1, original.count + 1, 0] {
            #expect {
                try decompressor.decompress(ByteBuffer(bytes: compressed), codec: codec, uncompressedSize: size)
            } throws: { error in
                (error as? PulsarConsumerError)?.code == .decompressionFailed
            }
        }
    }

    @Test("a truncated compressed payload is rejected", arguments: codecs)
    func truncated(codec: PayloadDecompressor.Codec) {
        let compressed = ConsumerFixtures.compress(original, codec: codec)
        let cut = Array(compressed.prefix(compressed.count / 2))
        #expect {
            try decompressor.decompress(ByteBuffer(bytes: cut), codec: codec, uncompressedSize: original.count)
        } throws: { error in
            (error as? PulsarConsumerError)?.code == .decompressionFailed
        }
    }

    @Test("an absurd announced size is refused before allocating")
    func hugeSize() {
        #expect {
            try decompressor.decompress(ByteBuffer(bytes: [1, 2, 3]), codec: .zlib, uncompressedSize: 1 << 40)
        } throws: { error in
            (error as? PulsarConsumerError)?.code == .decompressionFailed
        }
    }
}
