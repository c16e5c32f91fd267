import ServiceLifecycle

/// Closes the store's own connections (the create writers') once the application shuts down.
struct StoreShutdownService: Service {
    let store: ProductStore

    func run() async throws {
        try? await gracefulShutdown()
        await store.close()
    }
}
