import Synchronization

/// The API's route patterns and their methods, used to answer 405 with an `Allow` header when a
/// path exists but the method does not (Hummingbird's router reports both cases as 404).
/// A reference type because router middleware must exist before the routes are registered.
final class RouteTable: Sendable {
    private let routes = Mutex<[(segments: [String], methods: [String])]>([])

    func add(_ pattern: String, method: String) {
        let segments = Self.split(pattern)
        routes.withLock { routes in
            if let index = routes.firstIndex(where: { $0.segments == segments }) {
                routes[index].methods.append(method)
            } else {
                routes.append((segments, [method]))
            }
        }
    }

    /// Methods registered for routes matching `path` (`{name}` segments match anything).
    func allowedMethods(forPath path: String) -> [String] {
        let segments = Self.split(path)
        let snapshot = routes.withLock { $0 }
        var methods: [String] = []
        for route in snapshot where route.segments.count == segments.count {
            let matches = zip(route.segments, segments).allSatisfy { pattern, actual in
                (pattern.hasPrefix("{") && pattern.hasSuffix("}")) || pattern == actual
            }
            if matches { methods.append(contentsOf: route.methods.filter { !methods.contains($0) }) }
        }
        return methods
    }

    private static func split(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }
}
