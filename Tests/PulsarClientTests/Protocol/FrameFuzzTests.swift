import NIOCore
import Testing
@testable import PulsarClient

/// Random and mutated input must only ever produce frames or typed errors.
@Suite struct FrameFuzzTests {
    static func validFrames(_ rng: inout SplitMix64) -> ByteBuffer {
        var all = ByteBuffer()
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            var frame: ByteBuffer
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: frame = FrameFixtures.simpleFrame(PulsarCommands.ping())
            case 1: frame = FrameFixtures.simpleFrame(FrameFixtures.receipt(producerID: 1, sequenceID: rng.next() % 1000, entry: rng.next() % 1000))
            case 2: frame = FrameFixtures.simpleFrame(FrameFixtures.error(requestID: 3, .serviceNotReady, "x"))
            default:
                let payload = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                frame = FrameFixtures.payloadFrame(payload: payload, sequenceID: rng.next() % 100)
            }
            all.writeBuffer(&frame)
        }
        return all
    }

    /// Feeds `bytes` in random chunks; returns the number of frames and whether a typed error ended it.
    static func feed(_ bytes: ByteBuffer, _ rng: inout SplitMix64) -> (frames: Int, error: PulsarFrameError?, untyped: (any Error)?) {
        var decoder = PulsarFrameDecoder(maxFrameSize: 64 * 1024)
        var cumulation = ByteBuffer()
        var input = bytes
        var frames = 0
        do {
            while input.readableBytes > 0 {
                let n = min(input.readableBytes, Int.random(in: 1...64, using: &rng))
                var chunk = input.readSlice(length: n) ?? ByteBuffer()
                cumulation.writeBuffer(&chunk)
                while try decoder.decode(buffer: &cumulation) != nil { frames += 1 }
            }
            while try decoder.decodeLast(buffer: &cumulation, seenEOF: true) != nil { frames += 1 }
            return (frames, nil, nil)
        } catch let error as PulsarFrameError {
            return (frames, error, nil)
        } catch {
            return (frames, nil, error)
        }
    }

    @Test func mutatedFramesNeverCrash() {
        var rng = SplitMix64(seed: 0xC0FFEE)
        var typedErrors = 0
        for iteration in 0..<5_000 {
            var bytes = Self.validFrames(&rng)
            let mutations = Int.random(in: 1...4, using: &rng)
            for _ in 0..<mutations {
                guard bytes.readableBytes > 0 else { break }
                let index = Int.random(in: 0..<bytes.readableBytes, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes.setInteger(UInt8.random(in: 0...255, using: &rng), at: index)
                case 1: bytes.moveWriterIndex(to: index)  // truncate
                default: bytes.setInteger(UInt8.random(in: 0...255, using: &rng) ^ 0x80, at: index)
                }
            }
            let result = Self.feed(bytes, &rng)
            #expect(result.untyped == nil, "iteration \(iteration): \(String(describing: result.untyped))")
            if result.error != nil { typedErrors += 1 }
        }
        // Most mutations break a length, checksum or protobuf: they must surface as typed errors.
        #expect(typedErrors > 2_500)
    }

    @Test func randomBytesNeverCrash() {
        var rng = SplitMix64(seed: 7)
        for iteration in 0..<5_000 {
            let count = Int.random(in: 0...200, using: &rng)
            var bytes = ByteBuffer()
            for _ in 0..<count { bytes.writeInteger(UInt8.random(in: 0...255, using: &rng)) }
            // Half the time, make the length prefix plausible so the inner parsers get exercised.
            if count >= 8, Bool.random(using: &rng) {
                bytes.setInteger(UInt32(count - 4), at: 0)
                bytes.setInteger(UInt32.random(in: 0...UInt32(count - 8), using: &rng), at: 4)
            }
            let result = Self.feed(bytes, &rng)
            #expect(result.untyped == nil, "iteration \(iteration): \(String(describing: result.untyped))")
        }
    }

    @Test func unmutatedFramesAlwaysDecode() {
        var rng = SplitMix64(seed: 99)
        for _ in 0..<1_000 {
            let bytes = Self.validFrames(&rng)
            let result = Self.feed(bytes, &rng)
            #expect(result.error == nil)
            #expect(result.frames >= 1)
        }
    }
}
