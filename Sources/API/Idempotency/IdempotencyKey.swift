/// The `Idempotency-Key` request header: 1–255 visible ASCII characters.
public struct IdempotencyKey: Sendable, Hashable {
    public static let maxLength = 255
    public let value: String

    public init?(_ header: String) {
        guard !header.isEmpty, header.utf8.count <= Self.maxLength,
              header.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F })
        else { return nil }
        self.value = header
    }
}
