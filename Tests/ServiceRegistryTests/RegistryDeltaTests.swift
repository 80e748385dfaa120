import ServiceRegistry
import XCTest

/// A consumer that keeps only the newest snapshot (the etcd source's hand-over to the publisher) must not lose
/// what the snapshots it skipped changed: the newest one's delta then spans them.
final class RegistryDeltaTests: XCTestCase {
    func snapshot(_ version: UInt64, delta: RegistryDelta?, origin: String = "etcd") -> RegistrySnapshot {
        RegistrySnapshot(services: [], version: version, origin: origin, delta: delta)
    }

    func id(_ name: String) -> ServiceID { ServiceID(namespace: "shop", name: name) }

    func testASkippedSnapshotsChangesAreCarriedIntoTheNext() {
        let second = snapshot(2, delta: RegistryDelta(from: 1, services: [id("web"), id("api")]))
        let third = snapshot(3, delta: RegistryDelta(from: 2, services: [id("web"), id("db")]))
        XCTAssertEqual(
            third.replacing(second).delta, RegistryDelta(from: 1, services: [id("api"), id("db"), id("web")]))
        XCTAssertEqual(third.replacing(second).version, 3)
    }

    func testADeltaThatCannotSpanBothIsDropped() {
        let second = snapshot(2, delta: RegistryDelta(from: 1, services: [id("web")]))
        // Not from the skipped one; the skipped one said nothing (a listing); another origin.
        XCTAssertNil(snapshot(4, delta: RegistryDelta(from: 3, services: [id("db")])).replacing(second).delta)
        XCTAssertNil(snapshot(3, delta: RegistryDelta(from: 2, services: [])).replacing(snapshot(2, delta: nil)).delta)
        XCTAssertNil(snapshot(3, delta: nil).replacing(second).delta)
        XCTAssertNil(
            snapshot(3, delta: RegistryDelta(from: 2, services: []), origin: "file").replacing(second).delta)
    }
}
