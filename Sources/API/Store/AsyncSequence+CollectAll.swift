extension AsyncSequence {
    /// All elements in order (result sets here are bounded by their `LIMIT`).
    func collectAll() async throws -> [Element] {
        var elements: [Element] = []
        for try await element in self { elements.append(element) }
        return elements
    }
}
