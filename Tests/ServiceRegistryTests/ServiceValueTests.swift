import ServiceRegistry
import XCTest

/// A service keeps its fields in a shared box (so copying a registry's array is cheap), yet behaves as a value:
/// changing a copy, a field or a field of a field, leaves every other copy as it was.
final class ServiceValueTests: XCTestCase {
    let original = Service(
        name: "web", namespace: "shop", ports: [ServicePort(name: "http", port: 80)],
        clusters: [
            ClusterExport(locality: Locality(cluster: "c1"), addresses: [IPAddress("10.0.0.1")!]),
            ClusterExport(locality: Locality(cluster: "c2"), addresses: [IPAddress("10.0.0.2")!]),
        ])

    func testChangingACopyLeavesTheOriginalAlone() {
        let before = original
        var names = original
        names.name = "api"
        names.namespace = "other"
        var nested = original
        nested.clusters[1].addresses.append(IPAddress("10.0.0.3")!)
        nested.ports[0].port = 8080
        var kinds = original
        kinds.type = .headless
        kinds.vip = IPAddress("10.9.0.1")!

        XCTAssertEqual(original, before)
        XCTAssertEqual(original.name, "web")
        XCTAssertEqual(original.clusters[1].addresses, [IPAddress("10.0.0.2")!])
        XCTAssertEqual(original.ports[0].port, 80)
        XCTAssertEqual(original.type, .clusterSetIP)
        XCTAssertNil(original.vip)
        XCTAssertEqual(names.name, "api")
        XCTAssertEqual(names.namespace, "other")
        XCTAssertEqual(nested.clusters[1].addresses.count, 2)
        XCTAssertEqual(nested.ports[0].port, 8080)
        XCTAssertEqual(kinds.vip, IPAddress("10.9.0.1")!)
        for changed in [names, nested, kinds] { XCTAssertNotEqual(changed, original) }
    }

    func testEqualityAndHashingAreByValueNotByBox() {
        // Built twice: two boxes, one value.
        let twin = Service(
            name: "web", namespace: "shop", ports: [ServicePort(name: "http", port: 80)],
            clusters: [
                ClusterExport(locality: Locality(cluster: "c1"), addresses: [IPAddress("10.0.0.1")!]),
                ClusterExport(locality: Locality(cluster: "c2"), addresses: [IPAddress("10.0.0.2")!]),
            ])
        XCTAssertEqual(twin, original)
        XCTAssertEqual(twin.hashValue, original.hashValue)
        XCTAssertEqual(Set([twin, original]).count, 1)
        var changedBack = original
        changedBack.name = "api"
        changedBack.name = "web"
        XCTAssertEqual(changedBack, original)
        XCTAssertTrue(String(describing: original).contains("namespace: \"shop\""))
    }

    /// A compacted service is the same value with nothing of its heap storage shared with the original: its
    /// arrays and its long strings (short ones are inline and have none) are its own.
    func testACompactedServiceIsEqualAndSharesNoStorage() throws {
        let long = "a-cluster-name-longer-than-fifteen-octets"
        let service = Service(
            name: "a-service-name-longer-than-fifteen", namespace: "shop", type: .headless,
            ports: [ServicePort(name: "a-port-name-of-some-length", port: 80)],
            clusters: [
                ClusterExport(
                    locality: Locality(cluster: long, region: "a-region-name-long-enough", zone: "z"),
                    addresses: [IPAddress("10.0.0.1")!, IPAddress("fd00::1")!], weight: 7, healthy: false,
                    endpoints: [
                        Endpoint(
                            hostname: "an-endpoint-host-name-of-length", addresses: [IPAddress("10.0.0.9")!],
                            ready: false)
                    ])
            ])
        let compacted = service.compacted()
        XCTAssertEqual(compacted, service)
        XCTAssertEqual(compacted.hashValue, service.hashValue)
        func storage(_ text: String) -> UnsafeRawPointer? {
            text.utf8.withContiguousStorageIfAvailable { UnsafeRawPointer($0.baseAddress) } ?? nil
        }
        func storage<Element>(_ array: [Element]) -> UnsafeRawPointer? {
            array.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        }
        let pairs: [(UnsafeRawPointer?, UnsafeRawPointer?, String)] = [
            (storage(service.name), storage(compacted.name), "name"),
            (storage(service.ports), storage(compacted.ports), "ports"),
            (storage(service.ports[0].name!), storage(compacted.ports[0].name!), "port name"),
            (storage(service.clusters), storage(compacted.clusters), "clusters"),
            (storage(service.clusters[0].cluster), storage(compacted.clusters[0].cluster), "cluster name"),
            (
                storage(service.clusters[0].locality.region), storage(compacted.clusters[0].locality.region),
                "region"
            ),
            (storage(service.clusters[0].addresses), storage(compacted.clusters[0].addresses), "addresses"),
            (storage(service.clusters[0].endpoints), storage(compacted.clusters[0].endpoints), "endpoints"),
            (
                storage(service.clusters[0].endpoints[0].hostname),
                storage(compacted.clusters[0].endpoints[0].hostname), "hostname"
            ),
            (
                storage(service.clusters[0].endpoints[0].addresses),
                storage(compacted.clusters[0].endpoints[0].addresses), "endpoint addresses"
            ),
        ]
        for (before, after, part) in pairs {
            XCTAssertNotNil(before, part)
            XCTAssertNotEqual(before, after, "\(part) has storage of its own")
        }
    }
}
