/// Credentials sent in CONNECT and in answers to AUTH_CHALLENGE.
struct PulsarAuthentication: Sendable {
    var methodName: String
    /// Called for CONNECT and again for every AUTH_CHALLENGE, so a refreshed token is picked up.
    var provider: @Sendable () throws -> [UInt8]

    func authData() throws -> [UInt8] { try provider() }

    /// Token authentication: method "token", data = the raw token bytes.
    static func token(_ provider: @escaping @Sendable () throws -> String) -> PulsarAuthentication {
        PulsarAuthentication(methodName: "token", provider: { Array(try provider().utf8) })
    }
}
