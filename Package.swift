// swift-tools-version:6.0
// The layering is DESIGN.md section 7: dependencies point one way, codec at the bottom,
// the executable (argument parsing only) at the top.
import PackageDescription

let package = Package(
    name: "scdns",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "scdns", targets: ["scdns"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // The message codec: stdlib only, no NIO, no Foundation, no C.
        .target(name: "DNSWire"),
        // libldns, for operator-written master files only (never untrusted packets).
        .systemLibrary(
            name: "CLDNS",
            pkgConfig: "ldns",
            providers: [.apt(["libldns-dev"])]
        ),
        .target(name: "ZoneFile", dependencies: ["CLDNS", "DNSWire"]),
        .target(
            name: "ServiceRegistry",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // TCP and HTTP health checks over plain non-blocking sockets, and their fall/rise damping: the server's
        // reachability probes and the publisher's local checks.
        .target(name: "HealthCheck", dependencies: ["ServiceRegistry"]),
        // The etcd v3 registry source and publisher, over etcd's JSON gateway and, for listings, gRPC (why:
        // EtcdClient.swift).
        .target(
            name: "RegistryEtcd",
            dependencies: [
                "ServiceRegistry",
                "HealthCheck",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "DNSPipeline",
            dependencies: [
                "DNSWire",
                "ServiceRegistry",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "DNSServer",
            dependencies: [
                "DNSPipeline",
                "HealthCheck",
                "CSocketBatch",
                "ZoneFile",
                "ServiceRegistry",
                "RegistryEtcd",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // recvmmsg/sendmmsg: Glibc does not expose them (no _GNU_SOURCE), so a tiny C target declares and
        // wraps them (DESIGN.md section 7).
        .target(name: "CSocketBatch"),
        // The engine of `scdns qps`.
        .target(
            name: "LoadGen",
            dependencies: [
                "DNSWire",
                "CSocketBatch",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .executableTarget(
            name: "scdns",
            dependencies: [
                "DNSServer",
                "RegistryEtcd",
                "LoadGen",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // The checks `make fuzz` runs under libFuzzer (Fuzz/) and `make test` runs over the corpus in Fuzz/corpus/:
        // each takes arbitrary bytes and says what went wrong; nothing here is shipped.
        .target(name: "FuzzTargets", dependencies: ["DNSWire", "DNSPipeline", "ServiceRegistry"]),
        // In-process pipeline driver for instruction counts (bench/pipeline-callgrind.sh); not shipped.
        .executableTarget(
            name: "PipelineBench",
            dependencies: ["CSocketBatch", "DNSPipeline", "DNSWire", "ServiceRegistry"],
            path: "bench/PipelineBench"
        ),
        // Put-to-answer latency and bulk loading against real etcd (bench/etcd.sh); not shipped.
        .executableTarget(
            name: "EtcdBench",
            dependencies: [
                "DNSWire",
                "RegistryEtcd",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "bench/EtcdBench"
        ),
        .testTarget(name: "DNSWireTests", dependencies: ["DNSWire", "CLDNS"]),
        .testTarget(name: "ZoneFileTests", dependencies: ["ZoneFile", "DNSWire"]),
        .testTarget(
            name: "ServiceRegistryTests", dependencies: ["ServiceRegistry", .product(name: "Yams", package: "Yams")]),
        .testTarget(
            name: "RegistryEtcdTests",
            dependencies: [
                "RegistryEtcd",
                "ServiceRegistry",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ]
        ),
        .testTarget(name: "HealthCheckTests", dependencies: ["HealthCheck", "ServiceRegistry"]),
        .testTarget(name: "DNSPipelineTests", dependencies: ["DNSPipeline", "DNSWire", "ServiceRegistry"]),
        .testTarget(
            name: "DNSServerTests",
            dependencies: [
                "DNSServer",
                "DNSWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "LoadGenTests", dependencies: ["LoadGen", "DNSWire"]),
        .testTarget(name: "FuzzTargetsTests", dependencies: ["FuzzTargets", "DNSServer"]),
        .testTarget(
            name: "scdnsTests",
            dependencies: [
                "DNSWire",
                .product(name: "Yams", package: "Yams"),
                "RegistryEtcd",
                "ServiceRegistry",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// `make fuzz` builds the libFuzzer executables (one per check, Fuzz/TARGET/main.swift) with SCDNS_FUZZ=1 in their
// own scratch path, passing -sanitize=fuzzer,address; without the variable they do not exist, since they have
// no `main` of their own to link without libFuzzer.
if Context.environment["SCDNS_FUZZ"] != nil {
    for name in ["wire", "pipeline", "registry", "config"] {
        package.targets.append(
            .executableTarget(
                name: "fuzz-\(name)",
                dependencies: name == "config" ? ["DNSServer"] : ["FuzzTargets"],
                path: "Fuzz/\(name)",
                swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
    }
}
