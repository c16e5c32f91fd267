import Hummingbird

/// Per-request state: Hummingbird's core storage plus the request id echoed in `X-Request-Id`.
public struct APIRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestID: String

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.requestID = ""
    }

    /// Bodies are size-checked by the handlers themselves (to answer 413 as a problem document).
    public var maxUploadSize: Int { 1 << 20 }
}
