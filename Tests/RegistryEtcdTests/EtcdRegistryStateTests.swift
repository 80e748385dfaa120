import Foundation
import ServiceRegistry
import XCTest

@testable import RegistryEtcd

/// The state the etcd source keeps, driven by listings and watch events as etcd would send them.
final class EtcdRegistryStateTests: XCTestCase {
    let layout = RegistryKeyLayout()

    /// The etcd key of `NAMESPACE/NAME/CLUSTER`, or of anything else under `PREFIX clusters/` given as `raw:...`.
    func key(_ path: String) -> String {
        if path.hasPrefix("raw:") { return layout.clustersPrefix + path.dropFirst(4) }
        let parts = path.split(separator: "/").map(String.init)
        return layout.key(namespace: parts[0], name: parts[1], cluster: parts[2])
    }

    func keyValue(_ path: String, _ value: String, revision: Int64, created: Int64? = nil) -> KeyValue {
        KeyValue(
            key: Data(key(path).utf8), value: Data(value.utf8), create_revision: EtcdInt64(created ?? revision),
            mod_revision: EtcdInt64(revision))
    }

    func put(_ path: String, _ value: String, revision: Int64, created: Int64? = nil) -> WatchEvent {
        WatchEvent(type: nil, kv: keyValue(path, value, revision: revision, created: created))
    }

    func delete(_ path: String, revision: Int64) -> WatchEvent {
        WatchEvent(type: "DELETE", kv: KeyValue(key: Data(key(path).utf8), mod_revision: EtcdInt64(revision)))
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
        XCTAssertEqual(state.revision, 4, "the newest key's revision, until the watch says whether a delete came after")
        XCTAssertEqual(state.listedAt, 9)
        XCTAssertEqual(state.services.map(\.name), ["api", "web"])
        XCTAssertEqual(addresses(state, "web"), ["10.0.0.1", "10.0.0.2"])
    }

    func testInvalidValuesAndMismatchedKeysAreRejectedWithTheKeyAndField() {
        var state = EtcdRegistryState(layout: layout)
        let rejections = state.reset(
            to: [
                keyValue("app/web/c1", export("web", cluster: "c1", "10.0.0.300"), revision: 2),
                keyValue("app/web/c2", export("web", cluster: "c3", "10.0.0.3"), revision: 3),
                keyValue("raw:c1/services/app", export("web", cluster: "c1", "10.0.0.1"), revision: 4),
                keyValue("app/web/c4", "{not json", revision: 5),
                keyValue("app/web/c5", export("web", cluster: "c5", "10.0.0.5"), revision: 6),
                // Not the registry's: a claim, and a key of a later version's layout.
                keyValue("raw:c1/publisher", "host pid 1", revision: 7),
                keyValue("raw:c1/instances/x", "{}", revision: 8),
            ], revision: 8)
        XCTAssertEqual(addresses(state, "web"), ["10.0.0.5"])
        let texts = rejections.map(\.description)
        XCTAssertEqual(texts.count, 4, "\(texts)")
        XCTAssertTrue(
            texts.contains(
                "etcd:/scdns/v1/clusters/c1/services/app/web:1:61: addresses[0]: '10.0.0.300' is not an IPv4 or IPv6 address"
            ),
            "\(texts)")
        XCTAssertTrue(
            texts.contains { $0.contains("c2/services/app/web: cluster: 'c3' does not match the key's 'c2'") },
            "\(texts)")
        XCTAssertTrue(texts.contains { $0.contains("c1/services/app: not an export key") }, "\(texts)")
        XCTAssertTrue(texts.contains { $0.hasPrefix("etcd:/scdns/v1/clusters/c4/services/app/web:") }, "\(texts)")
        XCTAssertEqual(state.revision, 6, "the newest registry key's revision; claims and other keys do not count")
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
            rejections.first?.description.contains("c1/services/app/web: the value is larger than 256 KiB") ?? false,
            "\(rejections)")
    }

    static let headless =
        #"{"name":"web","namespace":"app","type":"Headless","cluster":"c2","endpoints":[{"hostname":"w0","addresses":["10.0.0.2"]}]}"#

    /// Exports that disagree are decided by age (the revision their key was created at), not by which arrived
    /// last: a listing and a watch agree, and a key rewritten keeps its age.
    func testTheOldestExportDecidesADisagreement() {
        var state = EtcdRegistryState(layout: layout)
        // c2 says Headless where c1 (created first) says ClusterSetIP: c2 is left out, in a listing...
        let rejections = state.reset(
            to: [
                keyValue("app/web/c2", Self.headless, revision: 5),
                keyValue("app/web/c1", export("web", cluster: "c1", "10.0.0.1"), revision: 7, created: 2),
            ], revision: 7)
        XCTAssertEqual(rejections.count, 1)
        XCTAssertEqual(rejections.first?.key, key("app/web/c2"))
        XCTAssertTrue(
            rejections.first?.description.contains("type: Headless disagrees with type ClusterSetIP") ?? false)
        XCTAssertEqual(addresses(state, "web"), ["10.0.0.1"])

        // ...and by watch. c2 rewritten to agree is taken; rewritten to disagree again, it is absent (not its
        // earlier value): what serves is what etcd holds.
        XCTAssertTrue(
            state.apply([put("app/web/c2", export("web", cluster: "c2", "10.0.0.2"), revision: 8, created: 5)]).changed)
        XCTAssertEqual(addresses(state, "web"), ["10.0.0.1", "10.0.0.2"])
        let outcome = state.apply([put("app/web/c2", Self.headless, revision: 9, created: 5)])
        XCTAssertEqual(outcome.rejections.count, 1, "the type disagrees with c1's")
        XCTAssertEqual(addresses(state, "web"), ["10.0.0.1"])
        XCTAssertEqual(state.revision, 9)

        // A disagreement reported once is not reported again each time the service changes.
        XCTAssertEqual(
            state.apply([put("app/web/c1", export("web", cluster: "c1", "10.0.0.9"), revision: 10, created: 2)])
                .rejections.count, 0)

        // c1 deleted and created again is now the younger: c2's Headless export decides.
        _ = state.apply([delete("app/web/c1", revision: 11)])
        XCTAssertEqual(state.services.first?.type, .headless, "c2 alone now")
        let recreated = state.apply([put("app/web/c1", export("web", cluster: "c1", "10.0.0.1"), revision: 12)])
        XCTAssertEqual(recreated.rejections.map(\.key), [key("app/web/c1")])
        XCTAssertEqual(state.services.first?.type, .headless)
    }

    /// Exports created in one transaction share a revision; then the key decides, octet by octet, as every
    /// instance before this one decided: "eu-west/..." sorts before "eu/..." ('-' is below '/'), though the
    /// cluster name "eu" sorts before "eu-west".
    func testExportsCreatedTogetherAreTakenInTheOrderOfTheirKeys() {
        var state = EtcdRegistryState(layout: layout)
        let headless = Self.headless.replacingOccurrences(of: #""cluster":"c2""#, with: #""cluster":"eu-west""#)
        XCTAssertNotEqual(headless, Self.headless)
        let rejections = state.reset(
            to: [
                keyValue("app/web/eu", export("web", cluster: "eu", "10.0.0.1"), revision: 4),
                keyValue("app/web/eu-west", headless, revision: 4),
            ], revision: 4)
        XCTAssertEqual(rejections.map(\.key), [key("app/web/eu")])
        XCTAssertEqual(state.services.first?.type, .headless)
    }

    func testWatchEventsTouchOnlyTheirServiceAndDeletesRemoveIt() {
        var state = EtcdRegistryState(layout: layout)
        _ = state.reset(
            to: [keyValue("app/web/c1", export("web", cluster: "c1", "10.0.0.1"), revision: 2)], revision: 2)
        var outcome = state.apply(
            [
                put("app/api/c1", export("api", cluster: "c1", "10.0.1.1"), revision: 3),
                put("app/web/c1", export("web", cluster: "c1", "10.0.0.7"), revision: 3, created: 2),
            ])
        XCTAssertTrue(outcome.changed)
        XCTAssertEqual(state.services.map(\.name), ["api", "web"])
        XCTAssertEqual(addresses(state, "web"), ["10.0.0.7"])

        outcome = state.apply([put("raw:c1/publisher", "host pid 1", revision: 4)])
        XCTAssertFalse(outcome.changed, "a publisher's claim is not the registry")
        XCTAssertEqual(state.revision, 3)
        XCTAssertEqual(state.claims, [layout.claimKey(cluster: "c1"): 4])
        XCTAssertEqual(state.watchFrom, 5)

        outcome = state.apply([put("app/web/c1", export("web", cluster: "c1", "10.0.0.7"), revision: 5, created: 2)])
        XCTAssertTrue(outcome.changed, "the same value rewritten changes no service, but the revision (the serial)")
        XCTAssertEqual(addresses(state, "web"), ["10.0.0.7"])

        outcome = state.apply([delete("app/web/c1", revision: 6)])
        XCTAssertTrue(outcome.changed)
        XCTAssertEqual(state.services.map(\.name), ["api"])

        outcome = state.apply([delete("app/nothere/c1", revision: 7)])
        XCTAssertEqual(state.revision, 7)
        XCTAssertTrue(outcome.changed, "no service changed, but the serial did")
    }

    /// A cluster's beacons ride on its publisher's claim: taken from its value, gone with it, and a heartbeat
    /// that rewrites the same value changes nothing.
    func testBeaconsComeFromTheClaimAndAHeartbeatChangesNothing() {
        var state = EtcdRegistryState(layout: layout)
        let claim = #"{"beacons":["10.0.0.53:53","[fd00::53]:53","nonsense"],"holder":"host pid 1"}"#
        _ = state.reset(
            to: [
                keyValue("app/web/c1", export("web", cluster: "c1", "10.0.0.1"), revision: 2),
                keyValue("raw:c1/publisher", claim, revision: 3),
                keyValue("raw:c2/publisher", "host pid 2", revision: 3),
            ], revision: 3)
        let beacons = [ProbeTarget("10.0.0.53:53")!, ProbeTarget("[fd00::53]:53")!]
        XCTAssertEqual(state.beacons, ["c1": beacons], "c2's claim is plain text (an earlier version): no beacons")
        XCTAssertFalse(state.apply([put("raw:c1/publisher", claim, revision: 4)]).changed, "a heartbeat")
        let moved = #"{"holder":"host pid 1","beacons":["10.0.0.54:53"]}"#
        XCTAssertTrue(state.apply([put("raw:c1/publisher", moved, revision: 5)]).changed)
        XCTAssertEqual(state.beacons, ["c1": [ProbeTarget("10.0.0.54:53")!]])
        XCTAssertTrue(state.apply([delete("raw:c1/publisher", revision: 6)]).changed)
        XCTAssertEqual(state.beacons, [:])
        XCTAssertEqual(state.revision, 2, "claims are not the registry's serial")
    }

    /// A listing read page by page on several threads as it arrives (`ListingReader`) makes the state one thread
    /// makes from the whole listing: the same services (exports that disagree resolved alike), the same
    /// rejections in listing order, the same claims, beacons and revision.
    func testAListingReadOnSeveralThreadsMakesTheStateOneThreadMakes() async {
        var keyValues: [KeyValue] = []
        for index in 0..<3_000 {
            let name = "svc\(index % 1_000)"
            let cluster = "c\(index / 1_000)"
            let path = "app/\(name)/\(cluster)"
            // Every 97th value is invalid, every 89th disagrees on its type, every 500th is a claim.
            let value =
                index % 97 == 0
                ? export(name, cluster: cluster, "10.0.0.300")
                : export(
                    name, cluster: cluster, "10.\(index % 200).0.1",
                    extra: index % 89 == 0 ? #","vip":"10.96.0.1""# : "")
            keyValues.append(keyValue(path, value, revision: Int64(10 + index), created: Int64(3_010 - index)))
            if index % 500 == 0 {
                let claim = #"{"beacons":["10.0.\#(index / 500).53:53"],"holder":"h"}"#
                keyValues.append(keyValue("raw:\(cluster)x\(index)/publisher", claim, revision: Int64(10 + index)))
            }
        }
        keyValues.append(keyValue("raw:c9/other", "anything", revision: 5_000))
        var one = EtcdRegistryState(layout: layout)
        let rejectedByOne = one.reset(to: keyValues, revision: 6_000)
        XCTAssertGreaterThan(rejectedByOne.count, 30)
        XCTAssertEqual(one.claims.count, 6)
        for threads in [1, 2, 5] {
            // Pages as the client hands them over, each of which the reader reads in runs of 2,500 and 100.
            let reader = ListingReader(layout: layout, threads: threads)
            for start in stride(from: 0, to: keyValues.count, by: 2_600) {
                reader.add(Array(keyValues[start..<min(keyValues.count, start + 2_600)]))
            }
            let listed = await reader.finish()
            var several = EtcdRegistryState(layout: layout)
            let rejected = several.reset(listed: listed.joined(), revision: 6_000)
            XCTAssertEqual(rejected.map(\.key), rejectedByOne.map(\.key), "\(threads) threads")
            XCTAssertEqual(rejected.map(\.description), rejectedByOne.map(\.description))
            XCTAssertEqual(several.services, one.services)
            XCTAssertEqual(several.claims, one.claims)
            XCTAssertEqual(several.beacons, one.beacons)
            XCTAssertEqual(several.revision, one.revision)
            XCTAssertEqual(several.watchFrom, one.watchFrom)
        }
    }

    func testClaimValuesAndProbeTargetsReadWhatTheyWrite() {
        let value = ClaimValue(holder: "host pid 1", beacons: [ProbeTarget("10.0.0.1:53")!])
        XCTAssertEqual(value.json, #"{"beacons":["10.0.0.1:53"],"holder":"host pid 1"}"#)
        XCTAssertEqual(ClaimValue(parsing: value.json), value)
        XCTAssertEqual(ClaimValue(parsing: "host pid 1"), ClaimValue(holder: "host pid 1"))
        XCTAssertEqual(ClaimValue(holder: "h").json, #"{"holder":"h"}"#)
        for text in ["10.0.0.1:53", "[fd00::1]:8080", "[::1]:1"] {
            XCTAssertEqual(ProbeTarget(text)?.description, text)
        }
        for text in [
            "10.0.0.1", "10.0.0.1:0", "10.0.0.1:65536", "fd00::1:53", "[10.0.0.1]:53", "[fd00::1]53", "x:53", ":53",
        ] {
            XCTAssertNil(ProbeTarget(text), text)
        }
    }

    /// An invalid value counts as absent, by watch as by listing: the key's earlier value is not kept, or an
    /// instance that started later would serve otherwise.
    func testAnInvalidValueCountsAsAbsentOnEveryPath() {
        var watched = EtcdRegistryState(layout: layout)
        _ = watched.reset(
            to: [
                keyValue("app/web/c1", export("web", cluster: "c1", "10.0.0.1"), revision: 2),
                keyValue("app/web/c2", export("web", cluster: "c2", "10.0.0.2"), revision: 3),
            ], revision: 3)
        let outcome = watched.apply([
            put("app/web/c1", export("web", cluster: "c1", "10.0.0.300"), revision: 4, created: 2)
        ])
        XCTAssertEqual(outcome.rejections.count, 1)
        XCTAssertEqual(addresses(watched, "web"), ["10.0.0.2"])

        var listed = EtcdRegistryState(layout: layout)
        let rejections = listed.reset(
            to: [
                keyValue("app/web/c1", export("web", cluster: "c1", "10.0.0.300"), revision: 4, created: 2),
                keyValue("app/web/c2", export("web", cluster: "c2", "10.0.0.2"), revision: 3),
            ], revision: 4)
        XCTAssertEqual(rejections.map(\.description), outcome.rejections.map(\.description))
        XCTAssertEqual(listed.services, watched.services)
        XCTAssertEqual(listed.revision, watched.revision)
    }

    /// A listing cannot see a delete: it starts at its newest key's revision and learns the rest from the watch
    /// it opens from there, so a fresh instance's revision (the serial) comes out as a long-running one's.
    func testAListingCatchesUpToTheRevisionOfTheLastDelete() {
        var state = EtcdRegistryState(layout: layout)
        _ = state.reset(
            to: [keyValue("app/web/c1", export("web", cluster: "c1", "10.0.0.1"), revision: 4)], revision: 9)
        XCTAssertEqual(state.revision, 4)
        XCTAssertEqual(state.watchFrom, 5)
        // What happened after revision 4, already in the listing: a put of a key deleted since, then the delete.
        // They may arrive in two messages; the first must not publish a service that etcd no longer holds.
        _ = state.apply([put("app/api/c1", export("api", cluster: "c1", "10.0.1.1"), revision: 6)])
        XCTAssertEqual(state.services.map(\.name), ["web"], "events the listing already holds change no service")
        let caughtUp = state.apply([delete("app/api/c1", revision: 7)])
        XCTAssertEqual(state.services.map(\.name), ["web"])
        XCTAssertTrue(caughtUp.changed)
        XCTAssertEqual(state.revision, 7)

        // A relist (after a compaction) does not take the serial back below the delete already served, though
        // its newest key is older.
        _ = state.reset(
            to: [keyValue("app/web/c1", export("web", cluster: "c1", "10.0.0.1"), revision: 4)], revision: 12)
        XCTAssertEqual(state.revision, 7)

        // History compacted past the catch-up: watching goes on from the compaction if that loses no change after
        // the listing; otherwise it lists again.
        var compacted = EtcdRegistryState(layout: layout)
        _ = compacted.reset(
            to: [keyValue("app/web/c1", export("web", cluster: "c1", "10.0.0.1"), revision: 4)], revision: 9)
        XCTAssertFalse(compacted.skipCompacted(to: 11))
        XCTAssertTrue(compacted.skipCompacted(to: 8))
        XCTAssertEqual(compacted.watchFrom, 8)
    }

    func testAnExportThatDisagreedIsTakenOnceTheExportItDisagreedWithIsGone() {
        var watched = EtcdRegistryState(layout: layout)
        _ = watched.reset(
            to: [keyValue("app/web/c1", export("web", cluster: "c1", "10.0.0.1"), revision: 2)], revision: 2)
        XCTAssertEqual(watched.apply([put("app/web/c2", Self.headless, revision: 3)]).rejections.count, 1)
        XCTAssertEqual(watched.services.first?.type, .clusterSetIP)
        XCTAssertTrue(watched.apply([delete("app/web/c1", revision: 4)]).changed)
        XCTAssertEqual(watched.services.first?.type, .headless, "c2's export now decides")

        // An instance starting at that revision sees the same.
        var fresh = EtcdRegistryState(layout: layout)
        _ = fresh.reset(to: [keyValue("app/web/c2", Self.headless, revision: 3)], revision: 4)
        _ = fresh.apply([delete("app/web/c1", revision: 4)])
        XCTAssertEqual(fresh.services, watched.services)
        XCTAssertEqual(fresh.revision, watched.revision)
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

    // MARK: - One truth per revision

    /// etcd as the watch sees it: keys with their create and mod revisions, one revision per write or
    /// transaction, and the events of each.
    struct ModelEtcd {
        var keys: [String: (value: String, created: Int64, modified: Int64)] = [:]
        var revision: Int64 = 1
        /// Every event so far, each with the revision it happened at.
        var history: [WatchEvent] = []

        /// One transaction: every operation at the next revision. A delete of an absent key changes nothing and
        /// makes no revision, as in etcd (unless something else in the transaction does).
        mutating func transaction(_ operations: [(key: String, value: String?)]) -> [WatchEvent] {
            let next = revision + 1
            var events: [WatchEvent] = []
            for (key, value) in operations {
                if let value {
                    let created = keys[key]?.created ?? next
                    keys[key] = (value, created, next)
                    events.append(
                        WatchEvent(
                            type: nil,
                            kv: KeyValue(
                                key: Data(key.utf8), value: Data(value.utf8), create_revision: EtcdInt64(created),
                                mod_revision: EtcdInt64(next))))
                } else if keys.removeValue(forKey: key) != nil {
                    events.append(
                        WatchEvent(type: "DELETE", kv: KeyValue(key: Data(key.utf8), mod_revision: EtcdInt64(next))))
                }
            }
            if !events.isEmpty || operations.contains(where: { $0.value != nil }) { revision = next }
            history += events
            return events
        }

        /// A write elsewhere in etcd: the revision moves, nothing under the prefix changes.
        mutating func unrelatedWrite() { revision += 1 }

        var listing: [KeyValue] {
            keys.sorted { $0.key < $1.key }.map { key, entry in
                KeyValue(
                    key: Data(key.utf8), value: Data(entry.value.utf8), create_revision: EtcdInt64(entry.created),
                    mod_revision: EtcdInt64(entry.modified))
            }
        }
    }

    /// A small seeded generator (SplitMix64), so a failing history can be replayed from its seed.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// A random value for `cluster`'s export of `name`: valid with one of a few types, vips and ports (so exports
    /// of one service often disagree), or invalid, or naming another cluster than its key.
    func randomValue(name: String, cluster: String, using random: inout SeededGenerator) -> String {
        let address = "10.\(Int.random(in: 0...1, using: &random)).0.\(Int.random(in: 1...3, using: &random))"
        switch Int.random(in: 0..<10, using: &random) {
        case 0:
            return #"{"name":"\#(name)","namespace":"app","cluster":"\#(cluster)","addresses":["\#(address)0"]}"#
        case 1:
            return "{"
        case 2:
            return export(name, cluster: "elsewhere", address)
        case 3:
            return
                #"{"name":"\#(name)","namespace":"app","type":"Headless","cluster":"\#(cluster)","endpoints":[{"hostname":"h","addresses":["\#(address)"]}]}"#
        case 4, 5:
            let vip = ["10.96.0.1", "10.96.0.2"].randomElement(using: &random)!
            return export(name, cluster: cluster, address, extra: #","vip":"\#(vip)""#)
        case 6:
            let port = [80, 8080].randomElement(using: &random)!
            return export(name, cluster: cluster, address, extra: #","ports":[{"name":"http","port":\#(port)}]"#)
        default:
            return export(name, cluster: cluster, address)
        }
    }

    /// Random histories of puts, deletes, invalid values, disagreeing exports, claims and transactions, through
    /// the watch of an instance that listed at the start; after every step, an instance that lists fresh at
    /// that revision (and catches up from the listing's newest key, as the source does) must hold the same
    /// services at the same revision. This is what makes two instances at one revision answer alike: answers are
    /// compiled from the services alone, and the serial is the revision.
    func testAWatchedHistoryAndAFreshListingAgreeAtEveryRevision() {
        for seed in UInt64(1)...40 {
            var random = SeededGenerator(state: seed)
            var etcd = ModelEtcd()
            let names = ["web", "api", "db"]
            let clusters = ["c1", "c2", "c3"]
            for _ in 0..<Int.random(in: 0...4, using: &random) {
                let name = names.randomElement(using: &random)!
                let cluster = clusters.randomElement(using: &random)!
                _ = etcd.transaction([
                    (key("app/\(name)/\(cluster)"), randomValue(name: name, cluster: cluster, using: &random))
                ])
            }
            var watched = EtcdRegistryState(layout: layout)
            _ = watched.reset(to: etcd.listing, revision: etcd.revision)
            for step in 0..<120 {
                var operations: [(key: String, value: String?)] = []
                for _ in 0..<(Int.random(in: 0..<5, using: &random) == 0 ? Int.random(in: 2...4, using: &random) : 1) {
                    let name = names.randomElement(using: &random)!
                    let cluster = clusters.randomElement(using: &random)!
                    switch Int.random(in: 0..<12, using: &random) {
                    case 0...3:
                        operations.append((key("app/\(name)/\(cluster)"), nil))
                    case 4:
                        // A claim written by an earlier version (plain text), with beacons, or deleted.
                        let claims: [String?] = [
                            "p", #"{"holder":"h","beacons":["10.0.0.1:53"]}"#,
                            #"{"holder":"h","beacons":["10.0.0.2:53","[fd00::1]:53"]}"#, nil,
                        ]
                        operations.append((layout.claimKey(cluster: cluster), claims.randomElement(using: &random)!))
                    case 5:
                        operations.append((key("raw:\(cluster)/services/\(name)"), "{}"))
                    default:
                        operations.append(
                            (key("app/\(name)/\(cluster)"), randomValue(name: name, cluster: cluster, using: &random)))
                    }
                }
                // A key written twice in one transaction is an error in etcd.
                guard Set(operations.map(\.key)).count == operations.count else { continue }
                if Int.random(in: 0..<8, using: &random) == 0 { etcd.unrelatedWrite() }
                let events = etcd.transaction(operations)
                if !events.isEmpty { _ = watched.apply(events) }

                var fresh = EtcdRegistryState(layout: layout)
                _ = fresh.reset(to: etcd.listing, revision: etcd.revision)
                let catchUp = etcd.history.filter { $0.kv.modRevision >= fresh.watchFrom }
                if !catchUp.isEmpty { _ = fresh.apply(catchUp) }
                guard fresh.services == watched.services, fresh.revision == watched.revision,
                    fresh.beacons == watched.beacons
                else {
                    XCTFail(
                        "seed \(seed), step \(step), revision \(etcd.revision): watched \(watched.revision) "
                            + "\(watched.services.map(summary)), fresh \(fresh.revision) \(fresh.services.map(summary))"
                    )
                    return
                }
            }
        }
    }

    func summary(_ service: Service) -> String {
        "\(service.name) \(service.type.rawValue) vip=\(service.vip?.description ?? "-") ports=\(service.ports.map(\.port)) "
            + service.clusters.map { "\($0.cluster):\($0.addresses.map(\.description))" }.joined(separator: ",")
    }
}
