// Producer throughput / latency benchmark for our client; scripts/bench-pulsar compares it with
// the official client. Prints one JSON line.
//
//   pulsar-bench --url pulsar://127.0.0.1:6650 [--messages 200000] [--size 300] [--batched] [--max-pending 1000]
//                [--batch-messages 1000] [--batch-bytes 131072]
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import PulsarClient

struct Options {
    var url = ProcessInfo.processInfo.environment["PULSAR_URI"] ?? "pulsar://127.0.0.1:6650"
    var messages = 200_000
    var size = 300
    var batched = false
    var maxPending = 1000
    var batchMessages = 1000
    var batchBytes = 128 * 1024
    var topic: String?

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--url": url = iterator.next() ?? url
            case "--messages": messages = iterator.next().flatMap(Int.init) ?? messages
            case "--size": size = iterator.next().flatMap(Int.init) ?? size
            case "--max-pending": maxPending = iterator.next().flatMap(Int.init) ?? maxPending
            case "--topic": topic = iterator.next()
            case "--batch-messages": batchMessages = iterator.next().flatMap(Int.init) ?? batchMessages
            case "--batch-bytes": batchBytes = iterator.next().flatMap(Int.init) ?? batchBytes
            case "--batched": batched = true
            default:
                FileHandle.standardError.write(Data("unknown argument \(argument)\n".utf8))
                exit(2)
            }
        }
    }
}

/// Send timestamps and receipt latencies, indexed by message number.
final class Recorder: Sendable {
    private let latencies: NIOLockedValueBox<[UInt64]>
    let failures = NIOLockedValueBox(0)

    init(count: Int) {
        latencies = NIOLockedValueBox([UInt64](repeating: 0, count: count))
    }

    func record(index: Int, startedAt: UInt64, result: Result<PulsarMessageID, PulsarClientError>) {
        let now = DispatchTime.now().uptimeNanoseconds
        switch result {
        case .success: latencies.withLockedValue { $0[index] = now - startedAt }
        case .failure: failures.withLockedValue { $0 += 1 }
        }
    }

    func percentiles() -> (p50: Double, p99: Double) {
        let sorted = latencies.withLockedValue { $0 }.filter { $0 > 0 }.sorted()
        guard !sorted.isEmpty else { return (0, 0) }
        func at(_ q: Double) -> Double { Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]) / 1_000_000 }
        return (at(0.5), at(0.99))
    }
}

let options = Options(CommandLine.arguments)
let client = PulsarClient(configuration: PulsarClientConfiguration(serviceURL: options.url))
let topic = options.topic ?? "persistent://public/default/bench-swift-\(options.batched ? "batched" : "single")-\(UInt32.random(in: 0...UInt32.max))"
var producerOptions = ProducerOptions(maxPendingMessages: options.maxPending)
if options.batched { producerOptions.batching = BatchingOptions(maxMessages: options.batchMessages, maxBytes: options.batchBytes, maxDelay: .milliseconds(10)) }
let producer = try await client.createProducer(topic: topic, options: producerOptions)
let payload = ByteBuffer(repeating: UInt8(ascii: "x"), count: options.size)
let recorder = Recorder(count: options.messages)

// Warm-up: connection, allocator, code paths.
for _ in 0..<1000 { _ = try await producer.send(PulsarOutgoingMessage(payload: payload)) }

let start = DispatchTime.now().uptimeNanoseconds
for index in 0..<options.messages {
    let sentAt = DispatchTime.now().uptimeNanoseconds
    try await producer.sendAsync(PulsarOutgoingMessage(payload: payload)) { result in
        recorder.record(index: index, startedAt: sentAt, result: result)
    }
}
try await producer.flush()
let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000_000_000
let (p50, p99) = recorder.percentiles()
try await producer.close()
await client.shutdown()
let failures = recorder.failures.withLockedValue { $0 }
print(#"{"client":"swift","batched":\#(options.batched),"messages":\#(options.messages),"size":\#(options.size),"seconds":\#(String(format: "%.3f", elapsed)),"msg_per_s":\#(Int(Double(options.messages) / elapsed)),"p50_ms":\#(String(format: "%.3f", p50)),"p99_ms":\#(String(format: "%.3f", p99)),"failures":\#(failures)}"#)
