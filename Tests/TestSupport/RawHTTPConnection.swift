import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A plain TCP connection for tests that must control every byte a client sends (half a head,
/// a stalled body) and see exactly when the server answers or closes.
public final class RawHTTPConnection: Sendable {
    public struct Snapshot: Sendable {
        public var received: [UInt8] = []
        /// When the server closed (or reset) the connection.
        public var closedAt: ContinuousClock.Instant?
        public var text: String { String(decoding: received, as: UTF8.self) }
        /// The status code of the first response, once its status line arrived.
        public var status: Int? {
            let line = text.prefix { $0 != "\r" }
            guard line.hasPrefix("HTTP/1.1 "), line.count >= 12 else { return nil }
            return Int(line.dropFirst(9).prefix(3))
        }
        /// Responses complete so far (heads ended; bodies by Content-Length).
        public var completeResponses: Int { Self.countResponses(in: received) }

        public static func countResponses(in bytes: [UInt8]) -> Int {
            let separator: [UInt8] = Array("\r\n\r\n".utf8)
            var count = 0
            var start = 0
            while let headEnd = firstIndex(of: separator, in: bytes, from: start) {
                let head = String(decoding: bytes[start..<headEnd], as: UTF8.self).lowercased()
                let lengthLine = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                let length = lengthLine.flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                let bodyStart = headEnd + separator.count
                guard bytes.count - bodyStart >= length else { break }
                count += 1
                start = bodyStart + length
            }
            return count
        }

        private static func firstIndex(of needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
            guard bytes.count - start >= needle.count else { return nil }
            for index in start...(bytes.count - needle.count) where bytes[index..<(index + needle.count)].elementsEqual(needle) {
                return index
            }
            return nil
        }
    }

    public let channel: any Channel
    public let openedAt: ContinuousClock.Instant
    private let collector: Collector

    private init(channel: any Channel, collector: Collector, openedAt: ContinuousClock.Instant) {
        self.channel = channel
        self.collector = collector
        self.openedAt = openedAt
    }

    public static func connect(host: String = "127.0.0.1", port: Int) async throws -> RawHTTPConnection {
        let collector = Collector()
        let openedAt = ContinuousClock.now
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: host, port: port).get()
        return RawHTTPConnection(channel: channel, collector: collector, openedAt: openedAt)
    }

    public func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text))
    }

    public func close() async {
        try? await channel.close()
    }

    public var snapshot: Snapshot { collector.state.withLock { $0.snapshot } }

    /// Waits until `condition` holds or `timeout` passes; returns the state either way.
    public func wait(atMost timeout: Duration, until condition: @escaping @Sendable (Snapshot) -> Bool) async -> Snapshot {
        let deadline = ContinuousClock.now + timeout
        // Wakes the waiter at the deadline even if nothing arrives.
        let wake = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) { [collector] in collector.wakeAll() }
        defer { wake.cancel() }
        while true {
            // true: condition met; false: deadline passed; nil: woken by a change, look again.
            let outcome: Bool? = await withCheckedContinuation { continuation in
                let done = collector.state.withLock { state -> Bool? in
                    if condition(state.snapshot) { return true }
                    if ContinuousClock.now >= deadline { return false }
                    state.waiters.append(continuation)
                    return nil
                }
                if let done { continuation.resume(returning: done) }
            }
            if outcome != nil { return snapshot }
        }
    }

    /// Waits for the server to close the connection; the time from connecting, or nil.
    public func closedAfter(atMost timeout: Duration) async -> Duration? {
        let state = await wait(atMost: timeout) { $0.closedAt != nil }
        return state.closedAt.map { $0 - openedAt }
    }

    /// Sends a complete request and waits for its response; nil if none came in time.
    public func request(_ text: String, atMost timeout: Duration = .seconds(5)) async throws -> Snapshot? {
        let before = snapshot.completeResponses
        try await send(text)
        let state = await wait(atMost: timeout) { $0.completeResponses > before || $0.closedAt != nil }
        return state.completeResponses > before ? state : nil
    }

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer

        struct State {
            var snapshot = Snapshot()
            var waiters: [CheckedContinuation<Bool?, Never>] = []
        }

        let state = Mutex(State())

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            wake { $0.snapshot.received += buffer.readableBytesView }
        }

        func channelInactive(context: ChannelHandlerContext) {
            wake { $0.snapshot.closedAt = .now }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // A reset is a close for these tests.
            context.close(promise: nil)
        }

        func wakeAll() { wake { _ in } }

        private func wake(_ change: (inout State) -> Void) {
            let waiters = state.withLock { state in
                change(&state)
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            for waiter in waiters { waiter.resume(returning: nil) }
        }
    }
}
