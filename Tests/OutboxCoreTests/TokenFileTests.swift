import Foundation
import Testing
@testable import OutboxCore

@Suite struct TokenFileTests {
    static func temporaryFile(_ content: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("token-\(UUID().uuidString)").path
        try content.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func readsTheTrimmedTokenAgainOnEveryUse() throws {
        let path = try Self.temporaryFile("secret-one\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = TokenFile(path: path)
        #expect(try file.read() == "secret-one")
        try "  secret-two \n".write(toFile: path, atomically: true, encoding: .utf8)  // rotated
        #expect(try file.read() == "secret-two")
    }

    @Test func errorsNameTheFileNeverTheContent() throws {
        let missing = TokenFile(path: "/nonexistent/token")
        #expect(throws: TokenFileError(code: .unreadable, path: "/nonexistent/token")) { try missing.read() }
        let empty = try Self.temporaryFile(" \n")
        defer { try? FileManager.default.removeItem(atPath: empty) }
        #expect(throws: TokenFileError(code: .empty, path: empty)) { try TokenFile(path: empty).read() }
    }

    @Test func theTokenIsMaskedInTheLoggedConfigurationAndTheFileIsAKey() throws {
        var configuration = OutboxConfiguration()
        configuration.pulsar.token = "very-secret"
        configuration.pulsar.tokenFile = "/run/secrets/pulsar-token"
        let line = configuration.description
        #expect(!line.contains("very-secret"))
        #expect(line.contains("pulsar.token=***"))
        #expect(line.contains("pulsar.token_file=/run/secrets/pulsar-token"))
        #expect(ConfigurationKey.named("pulsar.token_file")?.environmentName == "PULSAR_TOKEN_FILE")
    }
}
