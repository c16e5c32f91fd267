// swift-tools-version: 6.1
import PackageDescription

// Only versions present in the local package mirror resolve; keep these pinned ranges in step with it.
let package = Package(
    name: "outbox-relay",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "PulsarClient", targets: ["PulsarClient"]),
        .library(name: "CDCRelay", targets: ["CDCRelay"]),
        .library(name: "API", targets: ["API"]),
        .library(name: "OutboxCore", targets: ["OutboxCore"]),
        .executable(name: "products-api", targets: ["products-api"]),
        .executable(name: "cdc-relay", targets: ["cdc-relay"]),
        .executable(name: "pulsar-cli", targets: ["pulsar-cli"]),
        .library(name: "Inbox", targets: ["Inbox"]),
        .executable(name: "catalog-projector", targets: ["catalog-projector"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", "2.101.2"..<"2.102.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections.git", exact: "1.6.0"),
        .package(url: "https://github.com/apple/swift-atomics.git", exact: "1.3.0"),
        .package(url: "https://github.com/jpsim/Yams.git", exact: "6.2.2"),
        // Already resolved through Hummingbird; named here for HTTPServerLimits' imports.
        .package(url: "https://github.com/apple/swift-nio-extras.git", exact: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", exact: "1.8.0"),
    ],
    targets: [
        // MARK: shared configuration and migrations (owned by the foundation)
        .target(
            name: "OutboxCore",
            dependencies: [
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),

        // MARK: Pulsar client
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),
        .target(
            name: "PulsarClient",
            dependencies: [
                "CZlib", "CLZ4", "CZstd", "CSnappy",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            exclude: ["Protocol/Proto/PulsarApi.proto"]
        ),
        .executableTarget(name: "pulsar-bench", dependencies: ["PulsarClient"]),
        .executableTarget(
            name: "pulsar-cli",
            dependencies: [
                "PulsarClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: HTTP server limits (timeouts, connection cap, head size) for the API and the relay
        .target(
            name: "HTTPServerLimits",
            dependencies: [
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: CDC relay
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(
            name: "CDCRelay",
            dependencies: [
                "CLibPQ",
                "PulsarClient",
                "OutboxCore",
                "HTTPServerLimits",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        .executableTarget(
            name: "cdc-relay",
            dependencies: [
                "CDCRelay",
                "OutboxCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: Products API
        .target(
            name: "API",
            dependencies: [
                "OutboxCore",
                "CLibPQ",
                "HTTPServerLimits",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        .executableTarget(
            name: "products-api",
            dependencies: [
                "API",
                "OutboxCore",
                "HTTPServerLimits",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Atomics", package: "swift-atomics"),
            ]
        ),

        // MARK: Inbox (exactly-once effect for consumers) and the catalog projector
        .target(
            name: "Inbox",
            dependencies: [
                "PulsarClient",
                "OutboxCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        .target(
            name: "CatalogProjector",
            dependencies: [
                "Inbox",
                "OutboxCore",
                "PulsarClient",
                // For the one Pulsar client configuration all daemons share.
                "CDCRelay",
                "HTTPServerLimits",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "inbox-bench",
            dependencies: [
                "Inbox", "CatalogProjector", "OutboxCore", "PulsarClient",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "catalog-projector",
            dependencies: [
                "CatalogProjector",
                "OutboxCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: tests
        .testTarget(name: "OutboxCoreTests", dependencies: ["OutboxCore"]),
        .testTarget(
            name: "PulsarClientTests",
            dependencies: [
                "PulsarClient",
                "OutboxCore",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "CDCRelayTests",
            dependencies: ["CDCRelay", "OutboxCore", "PulsarClient", .product(name: "NIOPosix", package: "swift-nio")]
        ),
        .testTarget(
            name: "APITests",
            dependencies: [
                "API",
                "OutboxCore",
                "HTTPServerLimits",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "InboxTests",
            dependencies: [
                "Inbox", "CatalogProjector", "PulsarClient", "OutboxCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["Support/read_topic.py"]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "API", "CDCRelay", "PulsarClient", "OutboxCore",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ]
)
