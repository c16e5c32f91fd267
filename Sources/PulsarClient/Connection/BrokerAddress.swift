/// A broker endpoint parsed from `pulsar://host:port` or `pulsar+ssl://host:port`.
public struct BrokerAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var useTLS: Bool

    public init(host: String, port: Int, useTLS: Bool) {
        self.host = host
        self.port = port
        self.useTLS = useTLS
    }

    /// Parses a service or broker URL. With a comma-separated host list, the first host is used.
    public init(url: String) throws(PulsarClientError) {
        let trimmed = url.trimmedWhitespace()
        let rest: Substring
        if trimmed.hasPrefix("pulsar+ssl://") {
            useTLS = true
            rest = trimmed.dropFirst("pulsar+ssl://".count)
        } else if trimmed.hasPrefix("pulsar://") {
            useTLS = false
            rest = trimmed.dropFirst("pulsar://".count)
        } else {
            throw PulsarClientError(code: .invalidServiceURL, message: "'\(url)' must start with pulsar:// or pulsar+ssl://")
        }
        var authority = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        authority = authority.split(separator: ",").first ?? ""
        let defaultPort = useTLS ? 6651 : 6650
        if authority.hasPrefix("[") {
            // [ipv6]:port
            guard let close = authority.firstIndex(of: "]") else {
                throw PulsarClientError(code: .invalidServiceURL, message: "'\(url)': unterminated IPv6 address")
            }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.isEmpty {
                port = defaultPort
            } else if after.hasPrefix(":"), let value = Int(after.dropFirst()) {
                port = value
            } else {
                throw PulsarClientError(code: .invalidServiceURL, message: "'\(url)': bad port")
            }
        } else {
            let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else {
                throw PulsarClientError(code: .invalidServiceURL, message: "'\(url)': bad host:port")
            }
            host = String(parts[0])
            if parts.count == 2 {
                guard let value = Int(parts[1]) else {
                    throw PulsarClientError(code: .invalidServiceURL, message: "'\(url)': bad port '\(parts[1])'")
                }
                port = value
            } else {
                port = defaultPort
            }
        }
        guard !host.isEmpty else {
            throw PulsarClientError(code: .invalidServiceURL, message: "'\(url)': missing host")
        }
        guard (1...65535).contains(port) else {
            throw PulsarClientError(code: .invalidServiceURL, message: "'\(url)': port \(port) out of range")
        }
    }

    public var url: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "\(useTLS ? "pulsar+ssl" : "pulsar")://\(hostPart):\(port)"
    }

    public var description: String { url }
}

extension StringProtocol {
    fileprivate func trimmedWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return String(slice)
    }
}
