/// A failure of the inbox itself (not of the handler), with a code and its context.
public struct InboxError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case invalidSettings = "invalid_settings"
        case subscribeFailed = "subscribe_failed"
        case consumerFailed = "consumer_failed"
    }

    public var code: Code
    public var detail: String

    public init(code: Code, detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "inbox \(code.rawValue): \(detail)" }
}
