// swift-tools-version:6.2
// libFuzzer targets (issue 9 "Fuzzing"). A separate package so the main build and CI's
// `make test` never compile them; built with `-sanitize=fuzzer,address` into .build-fuzz by
// `make fuzz` (scripts/fuzz.sh), which also writes the seed corpora from the conformance files.
import Foundation
import PackageDescription

/// A path dependency's identity is its directory name, which differs between clones.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent
let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "consent-gate-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // Each target's main.swift hands its callback to libFuzzer's driver: SwiftPM links every
        // executable with its own `main`, so libFuzzer's `main` is never used.
        .target(name: "CLibFuzzer"),
        // What the event targets share: the invariants, the whitespace rewriter, the policies.
        .target(
            name: "FuzzSupport",
            dependencies: [
                "CLibFuzzer",
                .product(name: "ConsentEngine", package: root),
                .product(name: "ConsentConfig", package: root),
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "fuzz-scanner", dependencies: ["FuzzSupport"], swiftSettings: strict),
        .executableTarget(
            name: "fuzz-subscriptions", dependencies: ["FuzzSupport", .product(name: "ConsentEngine", package: root)], swiftSettings: strict),
        .executableTarget(
            name: "fuzz-config",
            dependencies: ["FuzzSupport", .product(name: "ConsentEngine", package: root), .product(name: "ConsentConfig", package: root)],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "fuzz-admin",
            dependencies: [
                "FuzzSupport",
                .product(name: "ConsentEngine", package: root),
                .product(name: "ConsentAdmin", package: root),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
    ]
)
