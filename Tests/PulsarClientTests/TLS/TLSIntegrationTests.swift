import TestSupport
import NIOCore
import NIOSSL
import Testing
@testable import PulsarClient

#if canImport(FoundationEssentials)
import Foundation
#else
import Foundation
#endif

/// `pulsar+ssl://` against the local broker behind stunnel (tls_proxy.sh starts and stops it with
/// a throw-away CA). Needs `stunnel4` and `openssl`; with OUTBOX_REQUIRE_STACK=1 a missing tool fails.
@Suite("TLS through stunnel", .enabled(if: StackEnvironment.shouldRun), .serialized)
struct TLSIntegrationTests {
    /// One stunnel with two services: `good` serves a certificate for "localhost", `wrong` one for
    /// "wrong.invalid"; both signed by the test CA in `directory/ca.pem`.
    struct Proxy {
        var directory: URL
        var goodPort: Int
        var wrongPort: Int
        var caFile: String { directory.appendingPathComponent("ca.pem").path }
    }

    static let script = InteropStack.helperPath("tls_proxy.sh")

    static func withProxy(_ body: (Proxy) async throws -> Void) async throws {
        let url = try StackEnvironment.require("PULSAR_URI")
        guard let brokerHostPort = url.split(separator: "://").last.map(String.init) else {
            throw Spawn.Failure(description: "cannot read host:port from \(url)")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        let proxy = Proxy(directory: directory, goodPort: try freePort(), wrongPort: try freePort())
        let prepared = try await Spawn.capture(
            "/bin/bash",
            [script, "prepare", directory.path, brokerHostPort, "\(proxy.goodPort)", "\(proxy.wrongPort)"],
            timeout: .seconds(60)
        )
        if prepared.status == 3 {
            // stunnel or openssl missing: a failure when the stack is required, a skip otherwise.
            if StackEnvironment.isRequired {
                Issue.record("TLS test prerequisites missing: \(prepared.stderr) (CI must install stunnel4 and openssl)")
            }
            return
        }
        try #require(prepared.status == 0, "tls_proxy.sh prepare failed: \(prepared.stderr)")
        let stunnel = prepared.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let process = try await BackgroundProcess(
            name: "stunnel",
            executable: stunnel,
            arguments: [directory.appendingPathComponent("stunnel.conf").path],
            logFile: directory.appendingPathComponent("stunnel.log"),
            ports: [proxy.goodPort, proxy.wrongPort]
        )
        do {
            try await body(proxy)
        } catch {
            await process.stop()
            throw error
        }
        await process.stop()
    }

    static func roundTrip(_ client: PulsarClient, label: String) async throws {
        let topic = StackEnvironment.uniqueTopic("tls-\(label)")
        let consumer = try await client.subscribe(
            topic: topic, subscription: "tls", options: ConsumerOptions(subscriptionType: .shared, initialPosition: .earliest))
        let producer = try await client.createProducer(topic: topic)
        for i in 0..<5 { _ = try await producer.send(PulsarOutgoingMessage("secure-\(i)", key: "k")) }
        let messages = try await ReceiveHelper.receiveDistinct(consumer, count: 5, timeout: .seconds(30))
        #expect(Set(messages.map { String(buffer: $0.payload) }) == Set((0..<5).map { "secure-\($0)" }))
        try await producer.close()
        try await consumer.close()
    }

    @Test("pulsar+ssl:// with the test CA: produce and consume work")
    func trustedCertificate() async throws {
        try await Self.withProxy { proxy in
            let client = try InteropStack.makeClient(url: "pulsar+ssl://localhost:\(proxy.goodPort)") {
                $0.tlsTrustCertificatesFile = proxy.caFile
                $0.tlsHostnameVerification = true
            }
            do {
                try await Self.roundTrip(client, label: "trusted")
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
        }
    }

    @Test("a certificate for another host name fails with a typed TLS error when hostnames are verified")
    func wrongHostname() async throws {
        try await Self.withProxy { proxy in
            let client = try InteropStack.makeClient(url: "pulsar+ssl://localhost:\(proxy.wrongPort)") {
                $0.tlsTrustCertificatesFile = proxy.caFile
                $0.tlsHostnameVerification = true
                $0.operationTimeout = .seconds(5)
            }
            await #expect {
                _ = try await client.createProducer(topic: StackEnvironment.uniqueTopic("tls-wrong"))
            } throws: { error in
                guard let error = error as? PulsarClientError else { return false }
                return Self.isTLSFailure(error) && "\(error)".contains("failedToValidateHostname")
            }
            await client.shutdown()
        }
    }

    @Test("an untrusted CA fails with a typed TLS error")
    func untrustedCA() async throws {
        try await Self.withProxy { proxy in
            // No CA file: the system roots do not know the throw-away test CA.
            let client = try InteropStack.makeClient(url: "pulsar+ssl://localhost:\(proxy.goodPort)") {
                $0.operationTimeout = .seconds(5)
            }
            await #expect {
                _ = try await client.subscribe(topic: StackEnvironment.uniqueTopic("tls-untrusted"), subscription: "s")
            } throws: { error in
                guard let error = error as? PulsarClientError else { return false }
                return Self.isTLSFailure(error)
            }
            await client.shutdown()
        }
    }

    @Test("tlsAllowInsecureConnection accepts the wrong certificate")
    func insecureAllowed() async throws {
        try await Self.withProxy { proxy in
            let client = try InteropStack.makeClient(url: "pulsar+ssl://localhost:\(proxy.wrongPort)") {
                $0.tlsAllowInsecureConnection = true
            }
            do {
                try await Self.roundTrip(client, label: "insecure")
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
        }
    }

    /// A `PulsarClientError` caused by TLS verification: its underlying error is one of swift-nio-ssl's
    /// typed errors (the client layer currently reports it as `connectionClosed`/`handshakeFailed`).
    static func isTLSFailure(_ error: PulsarClientError) -> Bool {
        if error.code == .tlsConfiguration { return true }
        guard let underlying = error.underlying else { return false }
        return underlying is NIOSSLError || underlying is NIOSSLExtraError || underlying is BoringSSLError
    }
}
