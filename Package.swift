// swift-tools-version:6.2
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "consent-gate",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "consent-gate", targets: ["consent-gate"]),
        .library(name: "ConsentEngine", targets: ["ConsentEngine"]),
        // For the fuzz targets in Fuzz/ (a separate package): the loader and the admin routes.
        .library(name: "ConsentConfig", targets: ["ConsentConfig"]),
        .library(name: "ConsentAdmin", targets: ["ConsentAdmin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    ],
    targets: [
        // librdkafka 2.0.2 from Debian, with its mock cluster API.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // Thin, safe Swift layer over librdkafka: producer, consumer, admin, mock cluster.
        .target(
            name: "Kafka",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The pure decision engine: no Kafka, no I/O, no Foundation.
        .target(
            name: "ConsentEngine",
            dependencies: [],
            swiftSettings: strict
        ),
        // The typed, validated configuration file model (YAML/JSON).
        .target(
            name: "ConsentConfig",
            dependencies: [
                "ConsentEngine",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),
        // The worker pipeline: consume, decide, produce, commit.
        .target(
            name: "ConsentWorker",
            dependencies: [
                "Kafka",
                "ConsentEngine",
                "ConsentConfig",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The admin HTTP listener: regulations API, metrics, health. Reaches Kafka only through protocols.
        .target(
            name: "ConsentAdmin",
            dependencies: [
                "ConsentEngine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "consent-gate",
            dependencies: [
                "Kafka",
                "ConsentEngine",
                "ConsentConfig",
                "ConsentWorker",
                "ConsentAdmin",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The helpers every test target shares: threads for blocking work, seeded randomness,
        // Kafka test clients, and the end-to-end harness that runs the `consent-gate` binary
        // against a mock cluster (fixture, child processes, admin client).
        .target(
            name: "TestSupport", dependencies: ["Kafka", .product(name: "Logging", package: "swift-log")], path: "Tests/TestSupport",
            swiftSettings: strict),
        .testTarget(name: "KafkaTests", dependencies: ["Kafka", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "ConsentEngineTests", dependencies: ["ConsentEngine", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "ConsentConfigTests", dependencies: ["ConsentConfig", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "ConsentAdminTests",
            dependencies: ["ConsentAdmin", "TestSupport", .product(name: "HummingbirdTesting", package: "hummingbird")],
            swiftSettings: strict
        ),
        .testTarget(name: "ConsentWorkerTests", dependencies: ["ConsentWorker", "Kafka", "TestSupport"], swiftSettings: strict),
        // Runs the built `consent-gate` binary as a user would.
        .testTarget(name: "CLITests", dependencies: ["consent-gate", "Kafka", "TestSupport"], swiftSettings: strict),
    ]
)
