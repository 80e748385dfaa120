import XCTest

@testable import ServiceRegistry

/// The repository's registry.yaml is what `scdns serve` answers with no arguments and what integration tests
/// query, so its content is pinned here.
final class ExampleRegistryTests: XCTestCase {
    private var services: [Service] = []

    override func setUpWithError() throws {
        let path = repositoryRoot.appendingPathComponent("registry.yaml").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        services = try RegistryDecoder.decode(text, file: "registry.yaml")
    }

    private func service(_ name: String) throws -> Service {
        try XCTUnwrap(
            RegistrySnapshot(services: services, version: 1, origin: "").service(namespace: "app", name: name))
    }

    func testServicesAreMergedAndSorted() {
        XCTAssertEqual(services.map(\.name), ["api", "backend", "cache", "db", "frontend", "legacy"])
        XCTAssertTrue(services.allSatisfy { $0.namespace == "app" })
        let clusters = Set(services.flatMap { $0.clusters.map(\.locality) })
        XCTAssertEqual(
            clusters,
            [
                Locality(cluster: "cluster-a", region: "ap-northeast-2", zone: "ap-northeast-2a"),
                Locality(cluster: "cluster-b", region: "ap-northeast-2", zone: "ap-northeast-2c"),
                Locality(cluster: "cluster-c", region: "us-east-1", zone: "us-east-1a"),
            ]
        )
        for service in services {
            XCTAssertEqual(service.clusters.map(\.cluster), service.clusters.map(\.cluster).sorted(), service.name)
        }
    }

    func testBackendMergesThreeClustersWithNamedPorts() throws {
        let backend = try service("backend")
        XCTAssertEqual(backend.type, .clusterSetIP)
        XCTAssertNil(backend.vip)
        XCTAssertEqual(
            backend.ports,
            [ServicePort(name: "http", port: 80, portProtocol: .tcp), ServicePort(name: "grpc", port: 9090)]
        )
        XCTAssertEqual(backend.clusters.map(\.cluster), ["cluster-a", "cluster-b", "cluster-c"])
        XCTAssertEqual(
            backend.clusters.map { $0.addresses.map(\.description) },
            [
                ["10.100.0.10"], ["10.101.0.10"], ["10.102.0.10"],
            ])
        XCTAssertEqual(backend.clusters.map(\.weight), [100, 200, 100])
        XCTAssertTrue(backend.clusters.allSatisfy(\.healthy))
    }

    func testFrontendIsDualStack() throws {
        let frontend = try service("frontend")
        XCTAssertEqual(frontend.clusters.count, 3)
        XCTAssertEqual(frontend.clusters[0].addresses.map(\.description), ["10.100.0.20", "fd00:100::20"])
        XCTAssertEqual(frontend.clusters[1].addresses.map(\.isIPv4), [true, false])
        XCTAssertEqual(frontend.clusters[2].addresses.map(\.description), ["10.102.0.20"])
    }

    func testDatabaseIsHeadlessWithOneNotReadyEndpoint() throws {
        let db = try service("db")
        XCTAssertEqual(db.type, .headless)
        XCTAssertNil(db.vip)
        XCTAssertEqual(db.ports, [ServicePort(name: "postgres", port: 5432, portProtocol: .tcp)])
        XCTAssertEqual(db.clusters.map(\.cluster), ["cluster-a", "cluster-b"])
        XCTAssertEqual(db.clusters[0].endpoints.map(\.hostname), ["db-0", "db-1"])
        XCTAssertEqual(db.clusters[1].endpoints.map(\.hostname), ["db-2", "db-3"])
        XCTAssertEqual(db.clusters.flatMap(\.endpoints).map(\.ready), [true, true, true, false])
        XCTAssertEqual(db.clusters[1].endpoints[0].addresses, [IPAddress("10.101.1.12")!])
        XCTAssertTrue(db.clusters.allSatisfy(\.addresses.isEmpty))
    }

    func testApiHasAVip() throws {
        let api = try service("api")
        XCTAssertEqual(api.vip, IPAddress("240.0.0.10"))
        XCTAssertEqual(api.clusters.count, 3)
        XCTAssertEqual(api.ports, [ServicePort(name: "http", port: 8080)])
    }

    func testLegacyHasAnUnhealthyClusterAndAnUnnamedPort() throws {
        let legacy = try service("legacy")
        XCTAssertEqual(legacy.clusters.map(\.cluster), ["cluster-a", "cluster-c"])
        XCTAssertEqual(legacy.clusters.map(\.healthy), [false, true])
        XCTAssertEqual(legacy.ports, [ServicePort(name: nil, port: 8000, portProtocol: .tcp)])
    }

    func testCacheIsScaledToZero() throws {
        let cache = try service("cache")
        XCTAssertEqual(cache.type, .headless)
        XCTAssertEqual(cache.clusters.map(\.cluster), ["cluster-a"])
        XCTAssertEqual(cache.clusters[0].endpoints, [])
    }

    func testSnapshotLookupFindsOnlyExistingServices() {
        let snapshot = RegistrySnapshot(services: services, version: 7, origin: "registry.yaml")
        XCTAssertEqual(snapshot.service(namespace: "app", name: "db")?.name, "db")
        XCTAssertNil(snapshot.service(namespace: "app", name: "dbx"))
        XCTAssertNil(snapshot.service(namespace: "other", name: "db"))
        XCTAssertNil(RegistrySnapshot.empty().service(namespace: "app", name: "db"))
    }
}
