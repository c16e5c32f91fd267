import Foundation
import OutboxCore
import Testing
@testable import PulsarClient

/// `pulsar.token_file` as the relay wires it (`authTokenProvider` reading the file): a token file
/// rewritten while connected is what the next AUTH_CHALLENGE answer carries.
@Suite struct TokenFileRotationTests {
    @Test func rewrittenTokenFileIsSentOnTheNextAuthChallenge() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pulsar-token-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "first-token\n".write(toFile: path, atomically: true, encoding: .utf8)
        var configuration = PulsarClientConfiguration(serviceURL: "pulsar://127.0.0.1:6650")
        let file = TokenFile(path: path)
        configuration.authTokenProvider = { try file.read() }

        let broker = try FakeBroker(authentication: configuration.authentication)
        let connect = try #require(try broker.readFrame()).command.connect
        #expect(connect.authMethodName == "token")
        #expect(Array(connect.authData) == Array("first-token".utf8))
        try broker.send(FrameFixtures.connected())
        try "rotated-token\n".write(toFile: path, atomically: true, encoding: .utf8)
        try broker.send(FrameFixtures.authChallenge())
        let response = try #require(try broker.readFrame())
        #expect(response.command.type == .authResponse)
        #expect(Array(response.command.authResponse.response.authData) == Array("rotated-token".utf8))
    }
}
