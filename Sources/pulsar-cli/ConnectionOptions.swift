import ArgumentParser
import Logging
import PulsarClient

import Foundation

/// Options shared by every subcommand: where the broker is and how to authenticate.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .long, help: "Service URL (default: $PULSAR_URI, then pulsar://127.0.0.1:6650).")
    var url: String?

    @Option(name: .long, help: "Authentication token (default: $PULSAR_TOKEN).")
    var token: String?

    @Option(name: .long, help: "PEM file with the CA certificates to trust for pulsar+ssl://.")
    var tlsTrustCertsFile: String?

    @Flag(name: .long, help: "Accept any TLS certificate (development only).")
    var tlsAllowInsecure = false

    @Flag(name: .long, help: "Do not check that the broker certificate matches its host name.")
    var tlsNoHostnameVerification = false

    var serviceURL: String {
        if let url, !url.isEmpty { return url }
        if let env = ProcessInfo.processInfo.environment["PULSAR_URI"], !env.isEmpty { return env }
        return "pulsar://127.0.0.1:6650"
    }

    func makeClient() -> PulsarClient {
        var configuration = PulsarClientConfiguration(serviceURL: serviceURL)
        let token = self.token ?? ProcessInfo.processInfo.environment["PULSAR_TOKEN"]
        if let token, !token.isEmpty { configuration.authToken = token }
        configuration.tlsTrustCertificatesFile = tlsTrustCertsFile
        configuration.tlsAllowInsecureConnection = tlsAllowInsecure
        configuration.tlsHostnameVerification = !tlsNoHostnameVerification
        configuration.operationTimeout = .seconds(15)
        var logger = Logger(label: "pulsar-cli")
        // PULSAR_CLI_LOG_LEVEL=debug shows the client's own log lines (on stderr).
        logger.logLevel = ProcessInfo.processInfo.environment["PULSAR_CLI_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .error
        return PulsarClient(configuration: configuration, logger: logger)
    }
}

/// Prints one clear line on stderr; the caller throws the returned exit code.
func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("pulsar-cli: error: \(message)\n".utf8))
    return ExitCode(1)
}

func describe(_ error: any Error) -> String {
    if let error = error as? PulsarClientError { return "\(error.code): \(error.message)" }
    if let error = error as? PulsarConsumerError { return "\(error.code): \(error.detail)" }
    return "\(error)"
}
