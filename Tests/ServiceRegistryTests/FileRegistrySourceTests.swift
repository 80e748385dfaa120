import Foundation
import Logging
import Synchronization
import XCTest

@testable import ServiceRegistry

final class FileRegistrySourceTests: XCTestCase {
    private func registry(_ addresses: String) -> String {
        """
        services:
          - name: backend
            namespace: app
            clusters:
              - { cluster: cluster-a, addresses: [\(addresses)] }
        """
    }

    private func makeSource(
        _ directory: TemporaryDirectory,
        pollInterval: Duration = .milliseconds(20)
    ) -> (FileRegistrySource, CapturingLogHandler.Store) {
        let store = CapturingLogHandler.Store()
        let logger = Logger(label: "test") { _ in CapturingLogHandler(store: store) }
        return (
            FileRegistrySource(path: directory.path("registry.yaml"), pollInterval: pollInterval, logger: logger), store
        )
    }

    /// Collects what `watch` publishes.
    private final class Published: Sendable {
        let snapshots = Mutex<[RegistrySnapshot]>([])
        var all: [RegistrySnapshot] { snapshots.withLock { $0 } }
        var versions: [UInt64] { all.map(\.version) }
    }

    private func startWatching(_ source: FileRegistrySource) -> (Task<Void, Never>, Published) {
        let published = Published()
        let task = Task {
            await source.watch { snapshot in published.snapshots.withLock { $0.append(snapshot) } }
        }
        return (task, published)
    }

    func testLoadNowReadsAndVersions() throws {
        let directory = try TemporaryDirectory()
        try directory.replace("registry.yaml", with: registry("10.0.0.1"))
        let (source, _) = makeSource(directory)
        let first = try source.loadNow()
        XCTAssertEqual(first.version, 1)
        XCTAssertEqual(first.origin, directory.path("registry.yaml"))
        XCTAssertEqual(first.services.first?.clusters.first?.addresses, [IPAddress("10.0.0.1")!])
        // Unchanged content is the same snapshot, not a new version.
        XCTAssertEqual(try source.loadNow().version, 1)
        try directory.replace("registry.yaml", with: registry("10.0.0.2"))
        XCTAssertEqual(try source.loadNow().version, 2)
    }

    func testLoadNowReportsMissingAndInvalidFiles() throws {
        let directory = try TemporaryDirectory()
        let (source, _) = makeSource(directory)
        XCTAssertThrowsError(try source.loadNow()) {
            let error = $0 as? RegistryError
            XCTAssertEqual(error?.file, directory.path("registry.yaml"))
            XCTAssertNil(error?.line)
            XCTAssertTrue(
                error?.message.hasPrefix("cannot read the registry file") ?? false, "\(String(describing: error))")
        }
        try directory.replace("registry.yaml", with: registry("10.0.0.1, 10.0.0.300"))
        XCTAssertThrowsError(try source.loadNow()) {
            let error = $0 as? RegistryError
            XCTAssertEqual(error?.field, "services[0].clusters[0].addresses[1]")
            XCTAssertEqual(error?.line, 5)
        }
    }

    func testInitialSnapshotIsLoadNow() async throws {
        let directory = try TemporaryDirectory()
        try directory.replace("registry.yaml", with: registry("10.0.0.1"))
        let (source, _) = makeSource(directory)
        let snapshot = try await source.initialSnapshot()
        XCTAssertEqual(snapshot.version, 1)
        XCTAssertEqual(snapshot.services.count, 1)
    }

    func testWatchPublishesChangesAndSkipsInvalidFiles() async throws {
        let directory = try TemporaryDirectory()
        try directory.replace("registry.yaml", with: registry("10.0.0.1"))
        let (source, logs) = makeSource(directory)
        let initial = try source.loadNow()
        let (task, published) = startWatching(source)
        defer { task.cancel() }

        // A change is published as the next version.
        try directory.replace("registry.yaml", with: registry("10.0.0.2"))
        let sawChange = await eventually { published.all.count == 1 }
        XCTAssertTrue(sawChange)
        XCTAssertEqual(published.versions, [initial.version + 1])
        XCTAssertEqual(published.all.first?.services.first?.clusters.first?.addresses, [IPAddress("10.0.0.2")!])

        // An invalid file is logged with file, line and field, and nothing is published.
        try directory.replace("registry.yaml", with: registry("10.0.0.3, 10.0.0.300"))
        let sawRejection = await eventually { logs.count(containing: "registry rejected") == 1 }
        XCTAssertTrue(sawRejection, "\(logs.all)")
        let rejection = logs.all.first { $0.contains("registry rejected") } ?? ""
        XCTAssertTrue(rejection.contains("keeping snapshot version 2"), rejection)
        XCTAssertTrue(rejection.contains("registry.yaml:5:"), rejection)
        XCTAssertTrue(rejection.contains("services[0].clusters[0].addresses[1]"), rejection)
        XCTAssertEqual(published.versions, [2])

        // The next valid file is published as the version after the last good one.
        try directory.replace("registry.yaml", with: registry("10.0.0.4"))
        let sawRecovery = await eventually { published.all.count == 2 }
        XCTAssertTrue(sawRecovery)
        XCTAssertEqual(published.versions, [2, 3])
        XCTAssertEqual(published.all.last?.services.first?.clusters.first?.addresses, [IPAddress("10.0.0.4")!])
        // The rejected file was reported once, not on every poll.
        XCTAssertEqual(logs.count(containing: "registry rejected"), 1)
    }

    /// Writes `text` over the file in place, as `cat x > registry.yaml` or `curl -o` do: the file is cut to
    /// nothing first, then filled.
    private func overwriteInPlace(_ path: String, with text: String) throws {
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        defer { try? handle.close() }
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data(text.utf8))
    }

    /// A file cut to zero octets (a writer between its truncate and its write) is rejected with file and field,
    /// and the last good snapshot keeps serving; it used to be published as an empty registry.
    func testATruncatedFileIsRejectedAndTheLastGoodKeepsServing() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("registry.yaml")
        try directory.replace("registry.yaml", with: registry("10.0.0.1"))
        let (source, logs) = makeSource(directory)
        XCTAssertEqual(try source.loadNow().version, 1)
        let (task, published) = startWatching(source)
        defer { task.cancel() }

        try overwriteInPlace(path, with: "")
        let sawRejection = await eventually { logs.count(containing: "registry rejected") == 1 }
        XCTAssertTrue(sawRejection, "\(logs.all)")
        let rejection = logs.all.first { $0.contains("registry rejected") } ?? ""
        XCTAssertTrue(rejection.contains("keeping snapshot version 1"), rejection)
        XCTAssertTrue(rejection.contains("services: []"), rejection)
        XCTAssertEqual(published.versions, [], "nothing published")
        XCTAssertThrowsError(try source.loadNow(), "at start too: a server does not come up on an empty file")

        try overwriteInPlace(path, with: registry("10.0.0.2"))
        let sawRecovery = await eventually { published.all.count == 1 }
        XCTAssertTrue(sawRecovery)
        XCTAssertEqual(published.all.last?.services.first?.clusters.first?.addresses, [IPAddress("10.0.0.2")!])
    }

    /// A changed file is taken only once two looks a poll apart see the same version, so a writer that pauses
    /// mid-file (a valid prefix: fewer services, an address cut short) is not published half-written.
    func testAChangedFileIsTakenOnlyWhenTwoLooksSeeItUnchanged() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("registry.yaml")
        try directory.replace("registry.yaml", with: registry("10.0.0.1"))
        let (source, _) = makeSource(directory)
        XCTAssertEqual(try source.loadNow().version, 1)
        func current() -> [IPAddress] {
            source.withState { $0.current }?.services.first?.clusters.first?.addresses ?? []
        }

        try overwriteInPlace(path, with: registry("10.0.0.22"))
        source.poll(forced: false)
        XCTAssertEqual(current(), [IPAddress("10.0.0.1")!], "first look: not yet")
        source.poll(forced: false)
        XCTAssertEqual(current(), [IPAddress("10.0.0.22")!], "second look, unchanged: taken")

        // A prefix, then the rest before the next look: the prefix is never taken.
        try overwriteInPlace(path, with: registry("10.0.0.3"))
        source.poll(forced: false)
        try overwriteInPlace(path, with: registry("10.0.0.3, 10.0.0.44"))
        source.poll(forced: false)
        XCTAssertEqual(current(), [IPAddress("10.0.0.22")!], "still changing between two looks")
        source.poll(forced: false)
        XCTAssertEqual(current(), [IPAddress("10.0.0.3")!, IPAddress("10.0.0.44")!])
        XCTAssertEqual(source.withState { $0.current?.version }, 3, "the prefix never became a version")

        // A reload (SIGHUP) reads at once: the operator asked.
        try overwriteInPlace(path, with: registry("10.0.0.5"))
        source.poll(forced: true)
        XCTAssertEqual(current(), [IPAddress("10.0.0.5")!])
    }

    func testWatchKeepsServingWhenTheFileDisappears() async throws {
        let directory = try TemporaryDirectory()
        try directory.replace("registry.yaml", with: registry("10.0.0.1"))
        let (source, logs) = makeSource(directory)
        _ = try source.loadNow()
        let (task, published) = startWatching(source)
        defer { task.cancel() }

        try FileManager.default.removeItem(atPath: directory.path("registry.yaml"))
        let sawMissing = await eventually { logs.count(containing: "cannot be read") == 1 }
        XCTAssertTrue(sawMissing, "\(logs.all)")
        try directory.replace("registry.yaml", with: registry("10.0.0.9"))
        let sawReturn = await eventually { published.all.count == 1 }
        XCTAssertTrue(sawReturn)
        XCTAssertEqual(published.versions, [2])
        XCTAssertEqual(logs.count(containing: "cannot be read"), 1)
    }

    func testReloadRereadsWithoutWaitingForThePoll() async throws {
        let directory = try TemporaryDirectory()
        try directory.replace("registry.yaml", with: registry("10.0.0.1"))
        // A poll interval far longer than the test: only reload() can make the change visible in time.
        let (source, logs) = makeSource(directory, pollInterval: .seconds(3600))
        _ = try source.loadNow()
        let (task, published) = startWatching(source)
        defer { task.cancel() }

        // Wait until the loop has done its first look and is parked waiting for the next tick.
        let parked = await eventually { source.withState { $0.waiter != nil } }
        XCTAssertTrue(parked)
        try directory.replace("registry.yaml", with: registry("10.0.0.2"))
        source.reload()
        let sawReload = await eventually { published.all.count == 1 }
        XCTAssertTrue(sawReload)
        XCTAssertEqual(published.versions, [2])

        // A reload with nothing changed re-reads but publishes nothing new.
        let parkedAgain = await eventually { source.withState { $0.waiter != nil } }
        XCTAssertTrue(parkedAgain)
        source.reload()
        let reread = await eventually { logs.count(containing: "re-read, no change") == 1 }
        XCTAssertTrue(reread, "\(logs.all)")
        XCTAssertEqual(published.versions, [2])
    }

    func testSnapshotAcceptedByLoadNowWhileWatchingIsPublished() async throws {
        let directory = try TemporaryDirectory()
        try directory.replace("registry.yaml", with: registry("10.0.0.1"))
        let (source, _) = makeSource(directory, pollInterval: .seconds(3600))
        _ = try source.loadNow()
        let (task, published) = startWatching(source)
        defer { task.cancel() }
        let parked = await eventually { source.withState { $0.waiter != nil } }
        XCTAssertTrue(parked)
        try directory.replace("registry.yaml", with: registry("10.0.0.2"))
        XCTAssertEqual(try source.loadNow().version, 2)
        source.reload()
        let sawIt = await eventually { published.all.count == 1 }
        XCTAssertTrue(sawIt)
        XCTAssertEqual(published.versions, [2])
    }

    func testReloadBeforeWatchIsNotLost() async throws {
        let directory = try TemporaryDirectory()
        try directory.replace("registry.yaml", with: registry("10.0.0.1"))
        let (source, _) = makeSource(directory, pollInterval: .seconds(3600))
        source.reload()
        XCTAssertTrue(source.withState { $0.reloadPending })
        let forced = await source.waitForReload()
        XCTAssertTrue(forced)
        XCTAssertFalse(source.withState { $0.reloadPending })
    }

    func testCancellationEndsWatch() async throws {
        let directory = try TemporaryDirectory()
        try directory.replace("registry.yaml", with: registry("10.0.0.1"))
        let (source, _) = makeSource(directory, pollInterval: .seconds(3600))
        let (task, _) = startWatching(source)
        let parked = await eventually { source.withState { $0.waiter != nil } }
        XCTAssertTrue(parked)
        task.cancel()
        await task.value
        XCTAssertNil(source.withState { $0.waiter })
    }
}
