/// Polls `condition` until it holds or `timeout` passes; the result of the last check. Tests wait
/// on observable state with this, never on a fixed sleep.
public func waitUntil(
    timeout: Duration, interval: Duration = .milliseconds(50), _ condition: () throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try condition()
}

/// `waitUntil` for conditions that must await (HTTP probes, queries through a pool).
public func waitUntilAsync(
    timeout: Duration, interval: Duration = .milliseconds(50), _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}
