// swift-tools-version:6.2
// Engine benchmarks (issue 3 item 7). A separate package so the main build and CI never
// resolve or compile the benchmark dependencies. Run from the repository root:
//   make bench-engine
// or
//   swift package --package-path Benchmarks --scratch-path Benchmarks/.build benchmark
import PackageDescription

let package = Package(
    name: "consent-gate-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "ConsentEngineBenchmarks",
            dependencies: [
                .product(name: "ConsentEngine", package: "main"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/ConsentEngineBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v5)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
