import Testing
@testable import PulsarClient

@Suite struct BrokerAddressTests {
    @Test func parsesPlainAndTLS() throws {
        #expect(try BrokerAddress(url: "pulsar://broker:6650") == BrokerAddress(host: "broker", port: 6650, useTLS: false))
        #expect(try BrokerAddress(url: "pulsar+ssl://broker.example.com:6651/") == BrokerAddress(host: "broker.example.com", port: 6651, useTLS: true))
        #expect(try BrokerAddress(url: " pulsar://10.0.0.1 ") == BrokerAddress(host: "10.0.0.1", port: 6650, useTLS: false))
        #expect(try BrokerAddress(url: "pulsar+ssl://b") .port == 6651)
        #expect(try BrokerAddress(url: "pulsar://[::1]:7000") == BrokerAddress(host: "::1", port: 7000, useTLS: false))
        #expect(try BrokerAddress(url: "pulsar://a:6650,b:6650").host == "a")
    }

    @Test func rejectsBadURLs() {
        for url in ["http://broker:6650", "pulsar://", "pulsar://host:notaport", "pulsar://host:0", "pulsar://host:70000", "pulsar://[::1", "broker:6650"] {
            do {
                _ = try BrokerAddress(url: url)
                Issue.record("\(url) must be rejected")
            } catch {
                #expect(error.code == .invalidServiceURL, "\(url)")
            }
        }
    }

    @Test func urlRoundTrips() throws {
        for url in ["pulsar://broker:6650", "pulsar+ssl://broker:6651", "pulsar://[::1]:6650"] {
            #expect(try BrokerAddress(url: url).url == url)
        }
    }
}

@Suite struct LookupTargetTests {
    let service = BrokerAddress(host: "proxy", port: 6650, useTLS: false)

    func answer(_ type: Pulsar_Proto_CommandLookupTopicResponse.LookupType, url: String = "", tlsURL: String = "", proxy: Bool = false) -> Pulsar_Proto_CommandLookupTopicResponse {
        var answer = Pulsar_Proto_CommandLookupTopicResponse()
        answer.response = type
        answer.requestID = 1
        if !url.isEmpty { answer.brokerServiceURL = url }
        if !tlsURL.isEmpty { answer.brokerServiceURLTls = tlsURL }
        answer.proxyThroughServiceURL = proxy
        return answer
    }

    @Test func connectDirectly() throws {
        let target = try LookupService.target(answer(.connect, url: "pulsar://broker-2:6650"), service: service)
        #expect(target.logical == BrokerAddress(host: "broker-2", port: 6650, useTLS: false))
        #expect(target.physical == target.logical)
    }

    @Test func proxyThroughServiceURL() throws {
        let target = try LookupService.target(answer(.connect, url: "pulsar://broker-2:6650", proxy: true), service: service)
        #expect(target.logical.host == "broker-2")
        #expect(target.physical == service)
    }

    @Test func tlsServiceUsesTheTLSURL() throws {
        let tlsService = BrokerAddress(host: "proxy", port: 6651, useTLS: true)
        let target = try LookupService.target(answer(.redirect, url: "pulsar://b:6650", tlsURL: "pulsar+ssl://b:6651"), service: tlsService)
        #expect(target.logical == BrokerAddress(host: "b", port: 6651, useTLS: true))
    }

    @Test func missingURLIsALookupFailure() {
        do {
            _ = try LookupService.target(answer(.connect), service: service)
            Issue.record("expected failure")
        } catch {
            #expect(error.code == .lookupFailed)
        }
    }
}
