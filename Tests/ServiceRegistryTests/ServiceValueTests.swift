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
}
