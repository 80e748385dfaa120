import Foundation
import Logging
import RegistryEtcd
import ServiceRegistry
import Synchronization
import XCTest

/// The etcd source and publisher in-process against real etcd, where revisions and status can be read directly.
final class EtcdSourceTests: XCTestCase {
    let layout = RegistryKeyLayout()

    static func export(_ name: String, cluster: String = "c1", _ address: String) -> String {
        #"{"name":"\#(name)","namespace":"shop","cluster":"\#(cluster)","addresses":["\#(address)"]}"#
    }

    /// Snapshots published by a source, awaited by condition.
    final class Published: Sendable {
        private let snapshots = Mutex<[RegistrySnapshot]>([])

        func append(_ snapshot: RegistrySnapshot) { snapshots.withLock { $0.append(snapshot) } }
        var last: RegistrySnapshot? { snapshots.withLock { $0.last } }

        func await(
            timeout: Duration = .seconds(10), file: StaticString = #filePath, line: UInt = #line,
            _ condition: (RegistrySnapshot) -> Bool
        ) async throws -> RegistrySnapshot {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if let last, condition(last) { return last }
                try await Task.sleep(for: .milliseconds(20))
            }
            XCTFail(
                "no published snapshot met the condition; last: \(String(describing: last))", file: file, line: line)
            throw TestFailure("condition not met")
        }
    }

    func testTheSnapshotCarriesTheRevisionItWasBuiltFromAndStalenessIsReported() async throws {
        let etcd = try await EtcdCluster()
        let client = try etcd.client()
        let revision = try await client.put(
            layout.key(namespace: "shop", name: "web", cluster: "c1"), value: Self.export("web", "10.4.0.1"))
        let source = EtcdRegistrySource(client: try etcd.client(), layout: layout, logger: Logger(label: "test"))
        let initial = try await source.initialSnapshot()
        XCTAssertEqual(initial.revision, revision)
        XCTAssertEqual(initial.services.map(\.name), ["web"])
        XCTAssertEqual(
            source.status(), RegistrySourceStatus(stale: false, revision: revision, endpoint: etcd.endpoints[0]))

        let published = Published()
        let watching = Task { await source.watch { published.append($0) } }
        defer { watching.cancel() }
        let next = try await client.put(
            layout.key(namespace: "shop", name: "api", cluster: "c1"), value: Self.export("api", "10.4.0.2"))
        let snapshot = try await published.await { $0.services.count == 2 }
        XCTAssertEqual(snapshot.revision, next)
        XCTAssertGreaterThan(snapshot.version, initial.version)
        // A listing says nothing of what changed; a watched change names its service, from the snapshot before.
        XCTAssertNil(initial.delta)
        XCTAssertEqual(
            snapshot.delta,
            RegistryDelta(from: snapshot.version - 1, services: [ServiceID(namespace: "shop", name: "api")]))

        etcd.kill(0)
        let deadline = ContinuousClock.now + .seconds(15)
        while !source.status().stale && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        XCTAssertTrue(source.status().stale, "a source that lost etcd says so")
        XCTAssertEqual(source.status().revision, next, "and keeps the revision it last saw")

        try await etcd.restart(0)
        let third = try await client.put(
            layout.key(namespace: "shop", name: "db", cluster: "c1"), value: Self.export("db", "10.4.0.3"))
        let resumed = try await published.await { $0.services.count == 3 }
        XCTAssertEqual(resumed.revision, third)
        XCTAssertFalse(source.status().stale)
        watching.cancel()
        await watching.value
    }

    func testRepublishingReplacesTheClustersSetInOneRevisionAndLeavesOtherClustersAlone() async throws {
        let etcd = try await EtcdCluster()
        let client = try etcd.client()
        // Another cluster's export of the same service must survive c1's republish.
        try await client.put(
            layout.key(namespace: "shop", name: "web", cluster: "c2"),
            value: Self.export("web", cluster: "c2", "10.3.1.1"))
        let publisher = RegistryPublisher(
            client: client, layout: layout, cluster: "c1", leaseTTL: 10, logger: Logger(label: "test"))
        let lease = try await client.grantLease(ttl: 10)
        let exportsFile = try RegistryDecoder.decode(
            "services: [{ name: web, namespace: shop, clusters: [{ cluster: c1, addresses: [10.3.0.1] }] }]",
            file: "exports.yaml")
        let unclaimed = try await publisher.publish(
            try RegistryPublisher.exports(of: exportsFile, cluster: "c1", layout: layout, file: "exports.yaml"),
            lease: lease.id)
        XCTAssertNil(unclaimed, "nothing is written without the cluster's claim")
        let claimed = try await publisher.claim(lease: lease.id)
        XCTAssertEqual(claimed, .held)
        let services = try RegistryDecoder.decode(
            """
            services:
              - { name: web, namespace: shop, clusters: [{ cluster: c1, addresses: [10.3.0.1] }] }
              - { name: api, namespace: shop, clusters: [{ cluster: c1, addresses: [10.3.0.2] }] }
            """, file: "exports.yaml")
        let firstRevision = try await publisher.publish(
            try RegistryPublisher.exports(of: services, cluster: "c1", layout: layout, file: "exports.yaml"),
            lease: lease.id)
        let first = try XCTUnwrap(firstRevision)

        let events = EventLog()
        let prefix = layout.clustersPrefix
        let watcher = Task {
            try await client.watch(prefix: prefix, from: first + 1) { messages in
                for message in messages {
                    for event in message.watchEvents {
                        events.append(event.kv.modRevision, (event.isDelete ? "DELETE " : "PUT ") + event.kv.keyText)
                    }
                }
            }
        }
        defer { watcher.cancel() }
        let second = try await publisher.publish(
            [layout.key(namespace: "shop", name: "web", cluster: "c1"): Self.export("web", "10.3.0.9")], lease: lease.id
        )
        let deadline = ContinuousClock.now + .seconds(10)
        while events.all.count < 2 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let seen = events.all
        XCTAssertEqual(seen.map(\.0), [second, second], "one transaction, one revision: \(seen)")
        XCTAssertEqual(
            Set(seen.map(\.1)),
            ["DELETE /scdns/v1/clusters/c1/services/shop/api", "PUT /scdns/v1/clusters/c1/services/shop/web"])

        // Revoking the lease (what its expiry does) removes c1's exports and claim and nothing of c2's.
        try await client.revokeLease(lease.id)
        let left = try await client.list(prefix: layout.clustersPrefix).keyValues.map(\.keyText)
        XCTAssertEqual(left, ["/scdns/v1/clusters/c2/services/shop/web"])

        // A file that lists another cluster's export is refused, naming it.
        XCTAssertThrowsError(
            try RegistryPublisher.exports(of: services, cluster: "c9", layout: layout, file: "exports.yaml")
        ) {
            XCTAssertTrue("\($0)".contains(": lists cluster 'c1'; this publisher publishes cluster 'c9' only"), "\($0)")
        }
    }

    func testAWatchThatSilentlyStopsDeliveringIsNoticedAndReopened() async throws {
        try await assertASilentWatchIsReopened(withPublisher: true)
    }

    /// With no publisher there is no heartbeat; the probe falls back to the newest mod revision under the prefix,
    /// one probe in `sortedProbeEvery` (about 4.5 s here).
    func testAWatchThatSilentlyStopsIsReopenedWithoutAnyPublisher() async throws {
        try await assertASilentWatchIsReopened(withPublisher: false)
    }

    private func assertASilentWatchIsReopened(withPublisher: Bool) async throws {
        let etcd = try await EtcdCluster()
        let proxy = try FreezingProxy(to: etcd.members[0].clientPort)
        defer { proxy.stop() }
        let client = try etcd.client()
        var timing = EtcdRegistrySource.Timing()
        timing.probeInterval = .milliseconds(300)
        let source = EtcdRegistrySource(
            client: try EtcdClient(endpoints: ["http://127.0.0.1:\(proxy.port)"], logger: Logger(label: "test")),
            layout: layout, timing: timing, logger: Logger(label: "test"))
        // A publisher of another cluster, whose claim beats every second (a third of its lease): the heartbeat a
        // live watch must deliver.
        let publisher = RegistryPublisher(
            client: client, layout: layout, cluster: "c9", leaseTTL: 3, logger: Logger(label: "test"))
        let (updates, _) = AsyncStream.makeStream(of: [String: String].self)
        let initial = [
            layout.key(namespace: "shop", name: "z", cluster: "c9"): Self.export("z", cluster: "c9", "10.9.0.1")
        ]
        let publishing = Task {
            if withPublisher { try await publisher.run(initial: initial, updates: updates) }
        }
        defer { publishing.cancel() }
        _ = try await source.initialSnapshot()
        let published = Published()
        let watching = Task { await source.watch { published.append($0) } }
        defer { watching.cancel() }
        try await client.put(
            layout.key(namespace: "shop", name: "a", cluster: "c1"), value: Self.export("a", "10.1.0.1"))
        let before = withPublisher ? ["a", "z"] : ["a"]
        _ = try await published.await { $0.services.map(\.name) == before }

        // The watch's connection goes silent without closing; the probe's own connections still work. Only the
        // probe's check that the watch delivers what the member holds can notice.
        proxy.freezeWatches()
        let revision = try await client.put(
            layout.key(namespace: "shop", name: "b", cluster: "c1"), value: Self.export("b", "10.1.0.2"))
        let snapshot = try await published.await(timeout: .seconds(20)) { $0.services.count == before.count + 1 }
        XCTAssertEqual(snapshot.revision, revision)
        publishing.cancel()
        watching.cancel()
        await watching.value
    }

    func testThePublisherPutsBackExportsSomeoneElseMovedOffItsLease() async throws {
        let etcd = try await EtcdCluster()
        let client = try etcd.client()
        let publisher = RegistryPublisher(
            client: client, layout: layout, cluster: "c1", leaseTTL: 2, logger: Logger(label: "test"))
        let key = layout.key(namespace: "shop", name: "web", cluster: "c1")
        let value = Self.export("web", "10.3.0.1")
        let (updates, _) = AsyncStream.makeStream(of: [String: String].self)
        let running = Task { try await publisher.run(initial: [key: value], updates: updates) }
        defer { running.cancel() }

        func awaitLeased(_ description: String) async throws -> Int64 {
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                if let held = try await client.get(key), held.leaseID != 0, held.valueText == value {
                    return held.leaseID
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            XCTFail("the export never came back on a lease: \(description)")
            throw TestFailure(description)
        }
        let lease = try await awaitLeased("first publish")
        // Another writer puts the key without a lease (as a second publisher or an operator might)...
        try await client.put(key, value: Self.export("web", "10.3.0.9"))
        let afterOverwrite = try await awaitLeased("after an overwrite")
        XCTAssertEqual(afterOverwrite, lease)
        // ...or deletes it.
        try await client.delete(key)
        let afterDelete = try await awaitLeased("after a delete")
        XCTAssertEqual(afterDelete, lease)
        running.cancel()
    }

    func testAListingLargerThanOnePageIsReadAtOneRevision() async throws {
        let etcd = try await EtcdCluster()
        let client = try etcd.client()
        for index in 0..<25 {
            try await client.put(
                layout.key(namespace: "shop", name: "s\(index)", cluster: "c1"),
                value: Self.export("s\(index)", "10.2.0.\(index + 1)"))
        }
        let listing = try await client.list(prefix: layout.clustersPrefix, pageSize: 7)
        XCTAssertEqual(listing.keyValues.count, 25)
        XCTAssertEqual(Set(listing.keyValues.map(\.keyText)).count, 25)
        let current = try await client.currentRevision()
        XCTAssertEqual(listing.revision, current)
    }

    /// A page too big to read is asked again at half the size (issue 13): it used to fail as "etcd unreachable"
    /// on every endpoint, forever, for a registry whose page outgrew what the client reads at once. Here the
    /// client reads at most 64 KiB and 400 exports of ~150 octets each (JSON, base64 in the gateway's answer) make
    /// a first page of 1,000 keys several times that.
    func testAPageTooBigIsAskedAgainAtHalfTheSize() async throws {
        let etcd = try await EtcdCluster()
        let writer = try etcd.client()
        let padding = String(repeating: "x", count: 60)
        for index in 0..<400 {
            try await writer.put(
                layout.key(namespace: "shop", name: "s\(index)", cluster: "c1"),
                value: #"{"name":"s\#(index)","namespace":"shop","cluster":"c1","region":"r\#(padding)","#
                    + #""addresses":["10.3.\#(index / 250).\#(index % 250 + 1)"]}"#)
        }
        let capped = try EtcdClient(
            endpoints: etcd.endpoints, maximumResponseBytes: 64 << 10, logger: Logger(label: "test-capped"))
        let listing = try await capped.list(prefix: layout.clustersPrefix)
        XCTAssertEqual(Set(listing.keyValues.map(\.keyText)).count, 400)
        let current = try await writer.currentRevision()
        XCTAssertEqual(listing.revision, current)
        // One key that alone is over the cap cannot be halved further: that is an error of its own, not
        // "unreachable".
        let tiny = try EtcdClient(endpoints: etcd.endpoints, maximumResponseBytes: 100, logger: Logger(label: "tiny"))
        do {
            _ = try await tiny.list(prefix: layout.clustersPrefix)
            XCTFail("a key larger than the cap was listed")
        } catch {
            XCTAssertTrue("\(error)".hasPrefix("etcd response too big"), "\(error)")
        }
    }
}

/// Watch events collected from the watch's callback.
final class EventLog: Sendable {
    private let events = Mutex<[(Int64, String)]>([])

    func append(_ revision: Int64, _ text: String) { events.withLock { $0.append((revision, text)) } }
    var all: [(Int64, String)] { events.withLock { $0 } }
}
