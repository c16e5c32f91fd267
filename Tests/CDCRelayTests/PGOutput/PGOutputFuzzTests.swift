import NIOCore
import Testing
@testable import CDCRelay

@Suite("pgoutput decoder fuzzing")
struct PGOutputFuzzTests {
    private static let tags: [UInt8] = Array("BCORYIUDTMSEcAbPKrp".utf8) + [0, 0xFF]

    /// Decodes and checks the error invariants; returns whether it decoded.
    private func decodeChecked(_ bytes: ByteBuffer, version: Int, inStream: Bool) -> Bool {
        var decoder = PGOutputDecoder(protocolVersion: version)
        if inStream, version >= 2 {
            var start = PGOutputTestEncoder.encode(.streamStart(StreamStartMessage(xid: 1, isFirstSegment: true)))
            _ = try? decoder.decode(&start)
        }
        var copy = bytes
        do {
            let message = try decoder.decode(&copy)
            // What decodes must re-encode to the same bytes (the layouts are unambiguous, except
            // Stream Start's first-segment byte, which is read as a flag).
            if case .streamStart = message { return true }
            #expect(PGOutputTestEncoder.encode(message) == bytes, "re-encoding \(message)")
            return true
        } catch {
            #expect(error.offset >= 0 && error.offset <= bytes.readableBytes)
            return false
        }
    }

    @Test func randomMessagesNeverCrash() {
        var rng = SplitMix64(seed: 0x5EED_0001)
        var decoded = 0
        for _ in 0..<20_000 {
            var bytes = ByteBuffer()
            bytes.writeInteger(Self.tags.randomElement(using: &rng)!)
            let length = Int.random(in: 0..<64, using: &rng)
            for _ in 0..<length { bytes.writeInteger(UInt8.random(in: 0...255, using: &rng)) }
            if decodeChecked(bytes, version: Int.random(in: 1...4, using: &rng), inStream: Bool.random(using: &rng)) {
                decoded += 1
            }
        }
        // Random bytes almost never form a complete, exact message.
        #expect(decoded < 2_000)
    }

    @Test func mutatedMessagesNeverCrash() throws {
        var rng = SplitMix64(seed: 0x5EED_0002)
        var outcomes = (decoded: 0, failed: 0)
        for round in 0..<20_000 {
            let sample = pgOutputSamples[round % pgOutputSamples.count]
            var bytes = Array(sample.bytes.readableBytesView)
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                switch Int.random(in: 0..<4, using: &rng) {
                case 0 where !bytes.isEmpty:
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                case 1 where !bytes.isEmpty:
                    bytes.removeLast(Int.random(in: 1...bytes.count, using: &rng))
                case 2:
                    bytes.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0...bytes.count, using: &rng))
                default:
                    // Length-ish fields: plant extreme 16/32-bit values.
                    if bytes.count >= 5 {
                        let at = Int.random(in: 1...(bytes.count - 4), using: &rng)
                        let value: [UInt8] = [[0xFF, 0xFF, 0xFF, 0xFF], [0x7F, 0xFF, 0xFF, 0xFF], [0x80, 0, 0, 0]].randomElement(using: &rng)!
                        bytes.replaceSubrange(at..<(at + 4), with: value)
                    }
                }
            }
            if decodeChecked(ByteBuffer(bytes: bytes), version: sample.protocolVersion, inStream: sample.inStream) {
                outcomes.decoded += 1
            } else {
                outcomes.failed += 1
            }
        }
        #expect(outcomes.failed > 0)
        // Some mutations keep a valid layout (a changed byte inside a string or an LSN), and those
        // must decode: a decoder that rejected everything would pass the checks above.
        #expect(outcomes.decoded > 0)
    }

    /// A proper prefix of a valid message is incomplete, so it may not decode: the decoder never
    /// reads past the bytes it was given or fills a missing field with a default.
    @Test func everyTruncationIsRejected() {
        for sample in pgOutputSamples {
            let bytes = Array(sample.bytes.readableBytesView)
            for length in 0..<bytes.count {
                // Stream Abort's abort LSN and time (protocol 4) come only with parallel streaming,
                // so its first 9 bytes are a complete message of their own.
                if bytes.first == UInt8(ascii: "A"), length == 9 { continue }
                let decoded = decodeChecked(ByteBuffer(bytes: bytes[0..<length]), version: sample.protocolVersion, inStream: sample.inStream)
                #expect(!decoded, "a \(length)-byte prefix of a \(bytes.count)-byte message decoded")
            }
        }
    }
}
