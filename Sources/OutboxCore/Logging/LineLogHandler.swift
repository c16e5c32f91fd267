import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One line per event on standard error: `2026-11-30T01:49:03.123Z warning products-api:
/// key=value … [source] message`, keys sorted.
///
/// Unlike swift-log's stream handler it does nothing when metadata is set, only when a line is
/// written: a service sets a request id on every request's logger but logs rarely, and
/// pre-rendering the metadata on every set measured as several percent of the API's CPU.
public struct LineLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String

    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let line = Self.format(
            timestamp: Self.now(), level: event.level, label: label, metadata: merged, source: event.source, message: event.message.description
        )
        var bytes = line
        bytes.withUTF8 { text in
            // One write per line, so concurrent lines do not interleave.
            _ = write(STDERR_FILENO, text.baseAddress, text.count)
        }
    }

    /// The line for one event (pure, for tests).
    public static func format(
        timestamp: String, level: Logger.Level, label: String, metadata: Logger.Metadata, source: String, message: String
    ) -> String {
        var line = "\(timestamp) \(level) \(label):"
        for key in metadata.keys.sorted() {
            line += " \(key)=\(metadata[key].map { "\($0)" } ?? "")"
        }
        line += " [\(source)] \(message)\n"
        return line
    }

    private static func now() -> String {
        UTCTimestamp.iso8601(units: WallClock.unixMilliseconds(), fractionDigits: 3)
    }
}
