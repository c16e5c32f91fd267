import OutboxCore

/// What the pipeline needs from the configuration (kept apart from the file/env loader).
public struct RelaySettings: Sendable, Hashable {
    public var table: OutboxTable
    public var columns: OutboxColumnMapping
    public var topicName: String
    public var slotName: String
    public var maxInFlight: Int
    public var statusInterval: Duration
    public var shutdownTimeout: Duration
    public var reconnectBackoff: Backoff
    /// Events in flight and no broker acknowledgement for this long: report not ready (the
    /// session keeps waiting; the client resends on reconnect).
    public var stallThreshold: Duration
    /// Dead letter or halt, the dead-letter topic, the size limit.
    public var invalidEvents: RelayPipeline.InvalidEventHandling

    public init(
        table: OutboxTable = OutboxTable(),
        columns: OutboxColumnMapping = OutboxColumnMapping(),
        topicName: String,
        slotName: String,
        maxInFlight: Int = 1000,
        statusInterval: Duration = .seconds(10),
        shutdownTimeout: Duration = .seconds(30),
        reconnectBackoff: Backoff = Backoff(),
        stallThreshold: Duration = .seconds(5),
        invalidEvents: RelayPipeline.InvalidEventHandling? = nil
    ) {
        self.table = table
        self.columns = columns
        self.topicName = topicName
        self.slotName = slotName
        self.maxInFlight = maxInFlight
        self.statusInterval = statusInterval
        self.shutdownTimeout = shutdownTimeout
        self.reconnectBackoff = reconnectBackoff
        self.stallThreshold = stallThreshold
        self.invalidEvents = invalidEvents ?? RelayPipeline.InvalidEventHandling(slotName: slotName)
    }
}
