import TestSupport
import NIOCore
import Testing
@testable import PulsarClient

#if canImport(FoundationEssentials)
import Foundation
#else
import Foundation
#endif

/// Chunked messages through the local broker (pulsar-lite sends no max_message_size in CONNECTED,
/// so clients use the 5 MiB default): ours read by the official client and by pulsar-cli, the
/// official client's read by ours, incomplete sequences never delivered.
@Suite("Chunked messages", .enabled(if: StackEnvironment.shouldRun), .serialized)
struct ChunkingInteropTests {
    static let sizes = [6_000_000, 30 * 1024 * 1024]

    /// Same pattern as official_chunked.py: 8-byte big-endian words `k ^ seed`, cut to `size`.
    /// Written through raw memory: tens of megabytes byte by byte would hold a cooperative
    /// thread for seconds in a debug build and starve the suites running alongside.
    static func pattern(size: Int, seed: UInt64) -> ByteBuffer {
        let words = (size + 7) / 8
        var buffer = ByteBufferAllocator().buffer(capacity: words * 8)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: words * 8) { raw in
            for word in 0..<words {
                raw.storeBytes(of: (UInt64(word) ^ seed).bigEndian, toByteOffset: word * 8, as: UInt64.self)
            }
            return words * 8
        }
        buffer.moveWriterIndex(to: size)
        return buffer
    }

    static func message(size: Int, seed: UInt64) -> PulsarOutgoingMessage {
        PulsarOutgoingMessage(payload: pattern(size: size, seed: seed), properties: ["seed": "\(seed)"])
    }

    static func rows(_ output: Spawn.Captured) throws -> [[String: Any]] {
        try output.lines.map { line in try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]) }
    }

    @Test("the official client reads our chunked messages whole and byte-identical", .timeLimit(.minutes(3)))
    func officialReadsOurs() async throws {
        let url = try StackEnvironment.require("PULSAR_URI")
        let topic = StackEnvironment.uniqueTopic("chunk-ours")
        let client = try InteropStack.makeClient(url: url)
        do {
            let producer = try await client.createProducer(topic: topic, options: ProducerOptions(chunking: true))
            for (index, size) in Self.sizes.enumerated() {
                _ = try await producer.send(Self.message(size: size, seed: UInt64(index + 1)))
            }
            try await producer.close()
            // Exclusive: a Shared subscription does not reassemble chunked messages.
            let result = try await OfficialConsumer.consume(
                topic: topic, count: Self.sizes.count, url: url, subscription: "official-sub", exclusive: true, timeout: .seconds(90))
            #expect(result.complete, "official consumer timed out: \(result.log.suffix(2000))")
            #expect(result.messages.map(\.payload.count) == Self.sizes)
            for (index, message) in result.messages.enumerated() {
                let seed = try #require(message.properties["seed"].flatMap(UInt64.init))
                #expect(seed == UInt64(index + 1))
                #expect(message.payload == Data(Self.pattern(size: message.payload.count, seed: seed).readableBytesView))
            }
            // The official client reports a chunked message's id as "first;last".
            #expect(result.messages.allSatisfy { $0.id.contains(";") }, "\(result.messages.map(\.id))")
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    @Test("pulsar-cli produce --chunking, consume --payload-dir: whole and byte-identical", .timeLimit(.minutes(3)))
    func cliRoundTrip() async throws {
        let url = try StackEnvironment.require("PULSAR_URI")
        let cli = try PulsarCLITests.binary()
        let topic = StackEnvironment.uniqueTopic("chunk-cli")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chunk-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var expected: [Data] = []
        var files: [String] = []
        for (index, size) in Self.sizes.enumerated() {
            let data = Data(Self.pattern(size: size, seed: UInt64(10 + index)).readableBytesView)
            let file = directory.appendingPathComponent("in-\(index).bin")
            try data.write(to: file)
            expected.append(data)
            files += ["--payload-file", file.path]
        }
        let withoutChunking = try await Spawn.capture(cli, ["produce", "--url", url, topic] + files)
        #expect(withoutChunking.status != 0)
        #expect(withoutChunking.stderr.contains("messageTooLarge"), "\(withoutChunking.stderr)")

        let produced = try await Spawn.capture(cli, ["produce", "--url", url, topic, "--chunking"] + files)
        #expect(produced.status == 0, "\(produced.stderr)")
        #expect(produced.lines.count == Self.sizes.count)
        let outDir = directory.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        let consumed = try await Spawn.capture(cli, [
            "consume", "--url", url, topic, "-s", "cli-sub", "-t", "shared", "--earliest",
            "-n", "\(Self.sizes.count)", "--payload-dir", outDir.path,
        ])
        #expect(consumed.status == 0, "\(consumed.stderr)")
        let rows = try Self.rows(consumed)
        #expect(rows.map { $0["payload_size"] as? Int } == Self.sizes)
        #expect(rows.allSatisfy { ($0["chunks"] as? Int ?? 0) >= 2 }, "\(rows)")
        for (row, data) in zip(rows, expected) {
            let path = try #require(row["payload_file"] as? String)
            #expect(FileManager.default.contents(atPath: path) == data)
        }
    }

    @Test("our consumer reads the official client's chunked messages and acks every chunk", .timeLimit(.minutes(3)))
    func oursReadsOfficial() async throws {
        let url = try StackEnvironment.require("PULSAR_URI")
        let python = try StackEnvironment.require("STACK_PYTHON")
        let topic = StackEnvironment.uniqueTopic("chunk-official")
        let specs = Self.sizes.enumerated().map { "\($0.element):\($0.offset + 20)" }
        let produced = try await Spawn.capture(
            python, [InteropStack.helperPath("official_chunked.py"), "produce", url, topic, "official-chunker"] + specs)
        #expect(produced.status == 0, "official producer failed: \(produced.stderr)")
        let client = try InteropStack.makeClient(url: url)
        do {
            let options = ConsumerOptions(subscriptionType: .shared, initialPosition: .earliest)
            let consumer = try await client.subscribe(topic: topic, subscription: "ours", options: options)
            for (index, size) in Self.sizes.enumerated() {
                let message = try #require(try await consumer.receive())
                #expect(message.payload == Self.pattern(size: size, seed: UInt64(index + 20)))
                #expect(message.properties["seed"] == "\(index + 20)")
                #expect(message.chunkIDs.count >= 2)
                #expect(message.chunkIDs.last == message.id)
                try await consumer.acknowledge(message)
            }
            try await consumer.close()
            // Every chunk was acknowledged: the subscription's next message is the marker.
            let producer = try await client.createProducer(topic: topic)
            _ = try await producer.send(PulsarOutgoingMessage("marker"))
            try await producer.close()
            let again = try await client.subscribe(topic: topic, subscription: "ours", options: options)
            let next = try #require(try await again.receive())
            #expect(String(buffer: next.payload) == "marker")
            try await again.close()
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    @Test("an incomplete chunk sequence on the broker is never delivered", .timeLimit(.minutes(2)))
    func incompleteNeverDelivered() async throws {
        let url = try StackEnvironment.require("PULSAR_URI")
        let topic = StackEnvironment.uniqueTopic("chunk-incomplete")
        let rawClient = try InteropStack.makeClient(url: url)
        let client = try InteropStack.makeClient(url: url)
        do {
            let raw = try await RawProducer.create(client: rawClient, topic: topic, name: "raw-chunker")
            let maxSize = 64 * 1024
            // Message 0: 3 chunks of which only the first two reach the broker. Then a plain message
            // and a complete 2-chunk one: those two, in that order, are all the consumer may see.
            let incomplete = try raw.builder.frames(Self.message(size: 3 * maxSize - 1000, seed: 1), sequenceID: 0, publishTime: 1, maxMessageSize: maxSize, chunking: true)
            #expect(incomplete.count == 3)
            let plain = try raw.builder.single(PulsarOutgoingMessage("plain"), sequenceID: 1, publishTime: 2)
            let completeSize = 2 * maxSize + 20_000
            let complete = try raw.builder.frames(Self.message(size: completeSize, seed: 2), sequenceID: 2, publishTime: 3, maxMessageSize: maxSize, chunking: true)
            #expect(complete.count == 3)
            raw.write(Array(incomplete.prefix(2)) + [plain] + complete)
            let receipts = await raw.nextEvents(6)
            #expect(receipts.count == 6 && receipts.allSatisfy { if case .receipt = $0 { true } else { false } }, "\(receipts)")

            let consumer = try await client.subscribe(
                topic: topic, subscription: "reader", options: ConsumerOptions(subscriptionType: .shared, initialPosition: .earliest))
            let first = try #require(try await consumer.receive())
            #expect(String(buffer: first.payload) == "plain")
            #expect(first.chunkIDs.isEmpty)
            let second = try #require(try await consumer.receive())
            #expect(second.payload == Self.pattern(size: completeSize, seed: 2))
            #expect(second.chunkIDs.count == 3)
            try await consumer.close()
        } catch {
            await client.shutdown()
            await rawClient.shutdown()
            throw error
        }
        await client.shutdown()
        await rawClient.shutdown()
    }

    /// Three chunked messages interleaved on the broker, a consumer that may hold only two
    /// incomplete ones: the oldest is dropped and asked for again, and still arrives whole.
    @Test("over the pending-message limit the oldest is redelivered and arrives whole", .timeLimit(.minutes(2)))
    func overTheLimitRedelivers() async throws {
        let url = try StackEnvironment.require("PULSAR_URI")
        let topic = StackEnvironment.uniqueTopic("chunk-limit-redeliver")
        let rawClient = try InteropStack.makeClient(url: url)
        let client = try InteropStack.makeClient(url: url)
        do {
            let raw = try await RawProducer.create(client: rawClient, topic: topic, name: "raw-interleaved")
            let maxSize = 64 * 1024
            let size = maxSize + 20_000
            let messages = try (0..<3).map { index in
                try raw.builder.frames(Self.message(size: size, seed: UInt64(30 + index)), sequenceID: UInt64(index),
                                       publishTime: 1, maxMessageSize: maxSize, chunking: true)
            }
            #expect(messages.allSatisfy { $0.count == 2 })
            raw.write(messages.map { $0[0] } + messages.map { $0[1] })
            #expect(await raw.nextEvents(6).count == 6)

            let options = ConsumerOptions(subscriptionType: .shared, initialPosition: .earliest, maxPendingChunkedMessages: 2)
            let consumer = try await client.subscribe(topic: topic, subscription: "bounded", options: options)
            var seeds: [String] = []
            for _ in 0..<3 {
                let message = try #require(try await consumer.receive())
                let seed = try #require(message.properties["seed"].flatMap(UInt64.init))
                #expect(message.payload == Self.pattern(size: size, seed: seed))
                seeds.append("\(seed)")
                try await consumer.acknowledge(message)
            }
            // The two that fit complete first; the dropped oldest follows once redelivered.
            #expect(seeds == ["31", "32", "30"])
            try await consumer.close()
        } catch {
            await client.shutdown()
            await rawClient.shutdown()
            throw error
        }
        await client.shutdown()
        await rawClient.shutdown()
    }

    /// A payload of exactly 5 MiB: the broker refuses it in one SEND (NotAllowed), so with
    /// chunking it goes in two chunks; without, it fails here and the producer keeps working.
    @Test("a payload just at the limit is chunked, or refused by the client without chunking", .timeLimit(.minutes(2)))
    func atTheLimit() async throws {
        let url = try StackEnvironment.require("PULSAR_URI")
        let topic = StackEnvironment.uniqueTopic("chunk-limit")
        let client = try InteropStack.makeClient(url: url)
        do {
            let size = 5 * 1024 * 1024
            let plain = try await client.createProducer(topic: topic)
            await #expect(throws: PulsarClientError.self) { _ = try await plain.send(Self.message(size: size, seed: 7)) }
            _ = try await plain.send(PulsarOutgoingMessage("still-open"))
            try await plain.close()
            let chunking = try await client.createProducer(topic: topic, options: ProducerOptions(chunking: true))
            _ = try await chunking.send(Self.message(size: size, seed: 8))
            try await chunking.close()
            let consumer = try await client.subscribe(
                topic: topic, subscription: "limit", options: ConsumerOptions(subscriptionType: .shared, initialPosition: .earliest))
            let first = try #require(try await consumer.receive())
            #expect(String(buffer: first.payload) == "still-open")
            let second = try #require(try await consumer.receive())
            #expect(second.payload == Self.pattern(size: size, seed: 8))
            #expect(second.chunkIDs.count == 2)
            try await consumer.close()
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    /// Measured: pulsar-lite announces no max_message_size and drops the connection on a SEND
    /// frame above 5 MiB (no SEND_ERROR), which is why messages above it must be chunked.
    @Test("pulsar-lite closes the connection on one SEND frame above 5 MiB", .timeLimit(.minutes(1)))
    func oversizedFrame() async throws {
        let url = try StackEnvironment.require("PULSAR_URI")
        let topic = StackEnvironment.uniqueTopic("chunk-oversized")
        let rawClient = try InteropStack.makeClient(url: url)
        do {
            let raw = try await RawProducer.create(client: rawClient, topic: topic, name: "raw-oversized")
            #expect(raw.connection.maxMessageSize == 5 * 1024 * 1024)
            let frame = try raw.builder.single(Self.message(size: 6_000_000, seed: 3), sequenceID: 0, publishTime: 1)
            raw.write([frame])
            let events = await raw.nextEvents(1)
            #expect(events == [.closed], "answer to a \(frame.readableBytes)-byte SEND frame")
        } catch {
            await rawClient.shutdown()
            throw error
        }
        await rawClient.shutdown()
    }
}
