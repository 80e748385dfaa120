import Foundation
import ServiceRegistry
import XCTest

@testable import RegistryEtcd

/// The state the etcd source keeps, driven by listings and watch events as etcd would send them.
final class EtcdRegistryStateTests: XCTestCase {
    let layout = RegistryKeyLayout()

    func keyValue(_ path: String, _ value: String, revision: Int64) -> KeyValue {
        KeyValue(
            key: Data((layout.servicesPrefix + path).utf8), value: Data(value.utf8),
            mod_revision: EtcdInt64(revision))
    }

    func put(_ path: String, _ value: String, revision: Int64) -> WatchEvent {
        WatchEvent(type: nil, kv: keyValue(path, value, revision: revision))
    }

    func delete(_ path: String, revision: Int64) -> WatchEvent {
        WatchEvent(
            type: "DELETE",
            kv: KeyValue(key: Data((layout.servicesPrefix + path).utf8), mod_revision: EtcdInt64(revision)))
    }

    func export(_ name: String, cluster: String, _ address: String, extra: String = "") -> String {
        #"{"name":"\#(name)","namespace":"app","cluster":"\#(cluster)","addresses":["\#(address)"]\#(extra)}"#
    }

    func addresses(_ state: EtcdRegistryState, _ name: String) -> [String] {
        state.services.first { $0.name == name }?.clusters.flatMap { $0.addresses.map(\.description) } ?? []
    }

    func testAListingMergesExportsByServiceAndSortsThem() {
        var state = EtcdRegistryState(layout: layout)
        let rejections = state.reset(
            to: [
                keyValue("app/web/c2", export("web", cluster: "c2", "10.0.0.2"), revision: 3),
                keyValue("app/api/c1", export("api", cluster: "c1", "10.0.1.1"), revision: 4),
                keyValue("app/web/c1", export("web", cluster: "c1", "10.0.0.1"), revision: 2),
            ], revision: 9)
        XCTAssertTrue(rejections.isEmpty)
        XCTAssertEqual(state.revision, 9)
        XCTAssertEqual(state.services.map(\.name), ["api", "web"])
        XCTAssertEqual(addresses(state, "web"), ["10.0.0.1", "10.0.0.2"])
    }

    func testInvalidValuesAndMismatchedKeysAreRejectedWithTheKeyAndField() {
        var state = EtcdRegistryState(layout: layout)
        let rejections = state.reset(
            to: [
                keyValue("app/web/c1", export("web", cluster: "c1", "10.0.0.300"), revision: 2),
                keyValue("app/web/c2", export("web", cluster: "c3", "10.0.0.3"), revision: 3),
                keyValue("app/web", export("web", cluster: "c1", "10.0.0.1"), revision: 4),
                keyValue("app/web/c4", "{not json", revision: 5),
                keyValue("app/web/c5", export("web", cluster: "c5", "10.0.0.5"), revision: 6),
            ], revision: 6)
        XCTAssertEqual(addresses(state, "web"), ["10.0.0.5"])
        let texts = rejections.map(\.description)
        XCTAssertEqual(texts.count, 4, "\(texts)")
        XCTAssertTrue(
            texts.contains(
                "etcd:/scdns/v1/services/app/web/c1:1:61: addresses[0]: '10.0.0.300' is not an IPv4 or IPv6 address"),
            "\(texts)")
        XCTAssertTrue(
            texts.contains { $0.contains("app/web/c2: cluster: 'c3' does not match the key's 'c2'") }, "\(texts)")
        XCTAssertTrue(texts.contains { $0.contains("app/web: not an export key") }, "\(texts)")
        XCTAssertTrue(texts.contains { $0.hasPrefix("etcd:/scdns/v1/services/app/web/c4:") }, "\(texts)")
    }

    /// A value is capped (256 KiB): past it, it is rejected with its key before any of it is parsed, on every
    /// instance alike, rather than costing each of them the decoding of whatever one writer put there.
    func testAValueOverTheSizeCapIsRejectedUnparsed() {
        var state = EtcdRegistryState(layout: layout)
        let padding = String(repeating: " ", count: EtcdRegistryState.maxValueBytes)
        let rejections = state.reset(
            to: [
                keyValue("app/web/c1", export("web", cluster: "c1", "10.0.0.1") + padding, revision: 2),
                keyValue("app/web/c2", export("web", cluster: "c2", "10.0.0.2"), revision: 3),
            ], revision: 3)
        XCTAssertEqual(addresses(state, "web"), ["10.0.0.2"])
        XCTAssertEqual(rejections.count, 1)
        XCTAssertTrue(
            rejections.first?.description.contains("app/web/c1: the value is larger than 256 KiB") ?? false,
            "\(rejections)")
    }

    func testAConflictingExportIsRejectedAndTheOlderOnesServe() {
        var state = EtcdRegistryState(layout: layout)
        // c2 says Headless where c1 (written first) says ClusterSetIP: the later write loses, in a listing...
        let rejections = state.reset(
            to: [
                keyValue(
                    "app/web/c2", #"{"name":"web","namespace":"app","type":"Headless","cluster":"c2","endpoints":[]}"#,
                    revision: 5),
                keyValue("app/web/c1", export("web", cluster: "c1", "10.0.0.1"), revision: 2),
            ], revision: 5)
        XCTAssertEqual(rejections.count, 1)
        XCTAssertTrue(rejections[0].key.hasSuffix("app/web/c2"))
        XCTAssertEqual(addresses(state, "web"), ["10.0.0.1"])

        // ...and by watch, where the key also keeps its previous good value.
        _ = state.apply([put("app/web/c2", export("web", cluster: "c2", "10.0.0.2"), revision: 6)])
        XCTAssertEqual(addresses(state, "web"), ["10.0.0.1", "10.0.0.2"])
        let outcome = state.apply(
            [
                put(
                    "app/web/c2",
                    #"{"name":"web","namespace":"app","type":"Headless","cluster":"c2","endpoints":[]}"#,
                    revision: 7)
            ])
        XCTAssertEqual(outcome.rejections.count, 1, "the type disagrees with c1's")
        XCTAssertFalse(outcome.changed)
        XCTAssertEqual(addresses(state, "web"), ["10.0.0.1", "10.0.0.2"])
        XCTAssertEqual(state.revision, 7)
    }

    func testWatchEventsTouchOnlyTheirServiceAndDeletesRemoveIt() {
        var state = EtcdRegistryState(layout: layout)
        _ = state.reset(
            to: [keyValue("app/web/c1", export("web", cluster: "c1", "10.0.0.1"), revision: 2)], revision: 2)
        var outcome = state.apply(
            [
                put("app/api/c1", export("api", cluster: "c1", "10.0.1.1"), revision: 3),
                put("app/web/c1", export("web", cluster: "c1", "10.0.0.7"), revision: 3),
            ])
        XCTAssertTrue(outcome.changed)
        XCTAssertEqual(state.services.map(\.name), ["api", "web"])
        XCTAssertEqual(addresses(state, "web"), ["10.0.0.7"])

        outcome = state.apply([put("app/web/c1", export("web", cluster: "c1", "10.0.0.7"), revision: 4)])
        XCTAssertFalse(outcome.changed, "rewriting the same value changes no answer")

        outcome = state.apply([delete("app/web/c1", revision: 5)])
        XCTAssertTrue(outcome.changed)
        XCTAssertEqual(state.services.map(\.name), ["api"])

        outcome = state.apply([delete("app/nothere/c1", revision: 6)])
        XCTAssertFalse(outcome.changed)
        XCTAssertEqual(state.revision, 6)
    }

    func testARelistKeepsTheLastGoodValueOfAKeyWhoseValueIsNowRejected() {
        var state = EtcdRegistryState(layout: layout)
        _ = state.reset(
            to: [keyValue("app/web/c1", export("web", cluster: "c1", "10.0.0.1"), revision: 2)], revision: 2)
        // A bad write is rejected by watch; then a compaction forces a relist that lists the bad value.
        _ = state.apply([put("app/web/c1", export("web", cluster: "c1", "10.0.0.300"), revision: 3)])
        let rejections = state.reset(
            to: [
                keyValue("app/web/c1", export("web", cluster: "c1", "10.0.0.300"), revision: 3),
                keyValue("app/api/c1", export("api", cluster: "c1", "10.0.1.1"), revision: 4),
            ], revision: 9)
        XCTAssertEqual(rejections.count, 1)
        XCTAssertEqual(addresses(state, "web"), ["10.0.0.1"], "the key keeps its last good value across the relist")
        XCTAssertEqual(state.services.map(\.name), ["api", "web"])
        // A key that is gone from etcd is gone, whatever it held.
        _ = state.reset(
            to: [keyValue("app/api/c1", export("api", cluster: "c1", "10.0.1.1"), revision: 4)], revision: 10)
        XCTAssertEqual(state.services.map(\.name), ["api"])
    }

    func testAnExportThatDisagreedIsTakenOnceTheExportItDisagreedWithIsGone() {
        let headless =
            #"{"name":"web","namespace":"app","type":"Headless","cluster":"c2","endpoints":[{"hostname":"w0","addresses":["10.0.0.2"]}]}"#
        var watched = EtcdRegistryState(layout: layout)
        _ = watched.reset(
            to: [keyValue("app/web/c1", export("web", cluster: "c1", "10.0.0.1"), revision: 2)], revision: 2)
        XCTAssertEqual(watched.apply([put("app/web/c2", headless, revision: 3)]).rejections.count, 1)
        XCTAssertEqual(watched.services.first?.type, .clusterSetIP)
        XCTAssertTrue(watched.apply([delete("app/web/c1", revision: 4)]).changed)
        XCTAssertEqual(watched.services.first?.type, .headless, "c2's export waited aside and now fits")

        // An instance starting at that revision sees the same.
        var fresh = EtcdRegistryState(layout: layout)
        _ = fresh.reset(to: [keyValue("app/web/c2", headless, revision: 3)], revision: 4)
        XCTAssertEqual(fresh.services, watched.services)

        // A newer, invalid value of a waiting key drops the waiting one: it is no longer what etcd holds.
        var state = EtcdRegistryState(layout: layout)
        _ = state.reset(
            to: [keyValue("app/web/c1", export("web", cluster: "c1", "10.0.0.1"), revision: 2)], revision: 2)
        _ = state.apply([put("app/web/c2", headless, revision: 3)])
        _ = state.apply([put("app/web/c2", "{", revision: 4)])
        _ = state.apply([delete("app/web/c1", revision: 5)])
        XCTAssertTrue(state.services.isEmpty)
    }

    func testManyChangesAtOnceKeepTheServicesSorted() {
        var state = EtcdRegistryState(layout: layout)
        _ = state.reset(to: [], revision: 1)
        let events = (0..<200).reversed().map { index in
            put(
                "app/s\(index)/c1", export("s\(index)", cluster: "c1", "10.1.\(index / 250).\(index % 250 + 1)"),
                revision: 2)
        }
        XCTAssertTrue(state.apply(events).changed)
        XCTAssertEqual(state.services.count, 200)
        XCTAssertEqual(state.services.map(\.name), state.services.map(\.name).sorted())
        let few = [
            delete("app/s5/c1", revision: 3), put("app/s5a/c1", export("s5a", cluster: "c1", "10.2.0.1"), revision: 3),
        ]
        XCTAssertTrue(state.apply(few).changed)
        XCTAssertEqual(state.services.count, 200)
        XCTAssertEqual(state.services.map(\.name), state.services.map(\.name).sorted())
        XCTAssertNotNil(state.services.first { $0.name == "s5a" })
    }
}
