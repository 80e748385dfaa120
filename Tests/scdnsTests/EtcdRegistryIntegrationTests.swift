import Foundation
import Synchronization
import XCTest

/// `scdns serve --etcd` against real etcd: changes reach answers, leases forget dead publishers, outages and
/// compactions lose nothing, and a three-member cluster loses a member without a gap.
final class EtcdRegistryIntegrationTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "scdns-etcd-it-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    static let name = "web.shop.svc.supercluster.local"

    static func export(_ addresses: [String], name: String = "web", cluster: String = "c1") -> String {
        let list = addresses.map { "\"\($0)\"" }.joined(separator: ",")
        return #"{"name":"\#(name)","namespace":"shop","cluster":"\#(cluster)","addresses":[\#(list)]}"#
    }

    /// Runs `scdns registry ARGUMENTS` to the end; returns its standard output, failing on a non-zero exit.
    @discardableResult
    static func registry(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServerProcess.binary)
        process.arguments = ["registry"] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(
            process.terminationStatus, 0, "scdns registry \(arguments): \(errorText)", file: file, line: line)
        return text
    }

    /// The A records (sorted) and status dig sees for `name`.
    static func answer(
        _ server: ServerProcess, _ name: String = EtcdRegistryIntegrationTests.name
    ) throws -> (
        status: String, addresses: [String]
    ) {
        let output = try Tools.dig(port: server.port, ["+tries=1", "+time=1", name, "A"])
        let addresses = Tools.records(output).compactMap { record -> String? in
            let fields = record.split(separator: " ")
            return fields.count == 5 && fields[3] == "A" ? String(fields[4]) : nil
        }
        return (Tools.status(output) ?? "no answer", addresses.sorted())
    }

    /// Polls until `name` is answered with `addresses` (NXDOMAIN when empty) or the deadline passes.
    /// `scdns registry publish` of cluster c1's exports in `file`, its standard error collected.
    static func publish(_ file: String, to etcd: EtcdCluster, leaseTTL: Int) throws -> (Process, LockedText) {
        try publisher(["--etcd", etcd.endpoints[0], "--cluster", "c1", "--file", file, "--lease-ttl", "\(leaseTTL)"])
    }

    /// `scdns registry publish ARGUMENTS`, started, its standard error collected.
    static func publisher(_ arguments: [String]) throws -> (Process, LockedText) {
        let publisher = Process()
        publisher.executableURL = URL(fileURLWithPath: ServerProcess.binary)
        publisher.arguments = ["registry", "publish"] + arguments
        let log = LockedText()
        let pipe = Pipe()
        publisher.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { handle in
            log.append(String(decoding: handle.availableData, as: UTF8.self))
        }
        try publisher.run()
        return (publisher, log)
    }

    /// A registry file of cluster c1 with `web` at `addresses`, written aside and renamed into place.
    func writeExports(_ file: String, web addresses: [String]) throws {
        let text =
            "services:\n  - name: web\n    namespace: shop\n    clusters:\n"
            + "      - { cluster: c1, addresses: [\(addresses.joined(separator: ", "))] }\n"
        try text.write(toFile: file + ".tmp", atomically: false, encoding: .utf8)
        XCTAssertEqual(rename(file + ".tmp", file), 0)
    }

    static func awaitAnswer(
        _ server: ServerProcess, _ addresses: [String], name: String = EtcdRegistryIntegrationTests.name,
        timeout: TimeInterval = 15, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let expected = addresses.isEmpty ? ("NXDOMAIN", []) : ("NOERROR", addresses.sorted())
        let deadline = Date().addingTimeInterval(timeout)
        var last = (status: "", addresses: [String]())
        while Date() < deadline {
            last = try answer(server, name)
            if last.status == expected.0 && last.addresses == expected.1 { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTFail(
            "\(name): expected \(expected), last saw \(last); server log:\n\(server.output)", file: file, line: line)
    }

    func testAPutIsAnsweredAndADeleteGivesNXDOMAIN() async throws {
        let etcd = try await EtcdCluster()
        let server = try ServerProcess(arguments: ["--etcd", etcd.endpoints[0]])
        try Self.awaitAnswer(server, [])

        let etcdFlag = ["--etcd", etcd.endpoints[0]]
        try Self.registry(["put"] + etcdFlag + ["shop/web/c1", Self.export(["10.9.0.1"])])
        try Self.registry(["put"] + etcdFlag + ["shop/web/c2", Self.export(["10.9.0.2"], cluster: "c2")])
        try Self.awaitAnswer(server, ["10.9.0.1", "10.9.0.2"])

        // A value that fails validation never gets in through the CLI...
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServerProcess.binary)
        process.arguments = ["registry", "put"] + etcdFlag + ["shop/web/c1", Self.export(["10.9.0.300"])]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 1)
        // ...and one written straight to etcd is rejected by the server, naming the key and field, and counts
        // as absent: the key's earlier value is no longer what etcd holds, and an instance started now could
        // not know it.
        let client = try etcd.client()
        let offset = server.output.count
        try await client.put("/scdns/v1/clusters/c1/services/shop/web", value: Self.export(["10.9.0.300"]))
        try server.awaitLog(
            matching: #"etcd:/scdns/v1/clusters/c1/services/shop/web:1:\d+: addresses\[0\]"#, after: offset)
        try Self.awaitAnswer(server, ["10.9.0.2"])
        try Self.registry(["put"] + etcdFlag + ["shop/web/c1", Self.export(["10.9.0.1"])])
        try Self.awaitAnswer(server, ["10.9.0.1", "10.9.0.2"])

        try Self.registry(["delete"] + etcdFlag + ["shop/web/c1"])
        try Self.awaitAnswer(server, ["10.9.0.2"])
        try Self.registry(["delete"] + etcdFlag + ["shop/web"])
        try Self.awaitAnswer(server, [])

        let listing = try Self.registry(["list"] + etcdFlag)
        XCTAssertTrue(listing.hasPrefix("revision "), listing)
        XCTAssertTrue(listing.contains("0 export(s)"), listing)
    }

    func testAServerStartedBeforeEtcdWaitsForItAndThenServesTheRegistry() async throws {
        let port = try LoopbackPort.reserve()
        let server = try ServerProcess(arguments: ["--etcd", "http://127.0.0.1:\(port)"], awaitListening: false)
        // It does not answer from an empty registry it knows to be wrong: no listener until etcd answers.
        try server.awaitLog(matching: "etcd not answering; the registry is not loaded yet")
        // The admin endpoint comes up (not ready) while etcd is down; no DNS listener does. The two lines are
        // logged by tasks started together, in either order: the admin one is awaited, not assumed already out
        // (a clean-clone CI run met the etcd line first).
        try server.awaitLog(matching: "admin endpoint listening")
        XCTAssertNil(
            server.output.range(of: #"address=\S+ \[DNSServer\] listening"#, options: .regularExpression), server.output
        )
        let etcd = try await EtcdCluster(clientPorts: [port])
        let client = try etcd.client()
        try await client.put("/scdns/v1/clusters/c1/services/shop/web", value: Self.export(["10.4.4.4"]))
        try server.awaitListening()
        try Self.awaitAnswer(server, ["10.4.4.4"])
    }

    /// A lease shorter than one etcd call may take (the 3 s call timeout) can run out between its grant and the
    /// first keep-alive, and every export with it: such a TTL is refused before anything is published.
    func testALeaseTTLShorterThanOneCallIsRefused() throws {
        for ttl in ["1", "2"] {
            let result = try Tools.scdns([
                "registry", "publish", "--etcd", "http://127.0.0.1:1", "--cluster", "c1", "--file", "exports.yaml",
                "--lease-ttl", ttl,
            ])
            XCTAssertNotEqual(result.status, 0, result.output)
            XCTAssertTrue(result.output.contains("--lease-ttl is 3...3600 seconds"), result.output)
        }
    }

    func testAKilledPublishersExportsDisappearAfterItsLeaseTTL() async throws {
        let etcd = try await EtcdCluster()
        let file = directory + "/exports.yaml"
        func write(_ services: [(String, String)]) throws {
            var text = "services:\n"
            for (name, address) in services {
                text += """
                      - name: \(name)
                        namespace: shop
                        clusters:
                          - { cluster: c1, addresses: [\(address)] }

                    """
            }
            let temporary = file + ".tmp"
            try text.write(toFile: temporary, atomically: false, encoding: .utf8)
            _ = rename(temporary, file)
        }
        try write([("web", "10.8.0.1"), ("api", "10.8.0.2")])
        let (publisher, publisherLog) = try Self.publish(file, to: etcd, leaseTTL: 3)
        defer { if publisher.isRunning { kill(publisher.processIdentifier, SIGKILL) } }

        let server = try ServerProcess(arguments: ["--etcd", etcd.endpoints[0]])
        try Self.awaitAnswer(server, ["10.8.0.1"])
        try Self.awaitAnswer(server, ["10.8.0.2"], name: "api.shop.svc.supercluster.local")
        let listing = try Self.registry(["list", "--etcd", etcd.endpoints[0]])
        XCTAssertFalse(listing.contains("lease=none"), "every published export is on the lease: \(listing)")

        // Publishing again replaces the cluster's set: api is gone, web changed, in one transaction.
        try write([("web", "10.8.0.3")])
        try Self.awaitAnswer(server, [], name: "api.shop.svc.supercluster.local")
        try Self.awaitAnswer(server, ["10.8.0.3"])

        // The lease outlives keep-alives that stop: web survives several TTLs while the publisher runs...
        let keptUntil = Date().addingTimeInterval(5)
        while Date() < keptUntil {
            XCTAssertEqual(try Self.answer(server).addresses, ["10.8.0.3"])
            try await Task.sleep(for: .milliseconds(250))
        }
        // ...and goes once it dies without a word.
        kill(publisher.processIdentifier, SIGKILL)
        publisher.waitUntilExit()
        try Self.awaitAnswer(server, [], timeout: 10)
        XCTAssertTrue(publisherLog.text.contains("exports published"), publisherLog.text)
    }

    /// Issue "a registry you can trust": a publisher follows a file that is rewritten in place, as `cat x >
    /// exports.yaml` or `curl -o` do. The file sits empty for 2.5 s, then is written in two halves 0.9 s apart
    /// (the first half a valid file with one service fewer), then replaced by `services: []`. Through all of it
    /// a server's answers never lose an export: before, the empty file was published as "no exports" and every
    /// export of the cluster was deleted in one transaction.
    func testAFileRewrittenInPlaceNeverTakesAnExportAway() async throws {
        let etcd = try await EtcdCluster()
        let file = directory + "/exports.yaml"
        func document(_ services: [(String, String)]) -> String {
            "services:\n"
                + services.map { name, address in
                    "  - name: \(name)\n    namespace: shop\n    clusters:\n"
                        + "      - { cluster: c1, addresses: [\(address)] }\n"
                }.joined()
        }
        let full = document([("web", "10.8.0.1"), ("api", "10.8.0.2")])
        try full.write(toFile: file, atomically: true, encoding: .utf8)
        let (publisher, publisherLog) = try Self.publish(file, to: etcd, leaseTTL: 5)
        defer { if publisher.isRunning { kill(publisher.processIdentifier, SIGKILL) } }
        let server = try ServerProcess(arguments: ["--etcd", etcd.endpoints[0]])
        try Self.awaitAnswer(server, ["10.8.0.1"])
        try Self.awaitAnswer(server, ["10.8.0.2"], name: "api.shop.svc.supercluster.local")

        // Both names are asked every 100 ms from here on, on another thread; every answer must hold its address.
        let stop = Atomic(false)
        let lost = LockedText()
        let port = server.port
        let asking = Thread {
            while !stop.load(ordering: .relaxed) {
                for (name, address) in [("web", "10.8.0.1"), ("api", "10.8.0.2")] {
                    let output =
                        (try? Tools.dig(
                            port: port, ["+tries=1", "+time=1", "\(name).shop.svc.supercluster.local", "A"]))
                        ?? "dig failed"
                    if !output.contains(address) { lost.append("\(name): \(output)\n") }
                }
                usleep(100_000)
            }
        }
        asking.start()
        defer { stop.store(true, ordering: .relaxed) }

        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: file))
        try handle.truncate(atOffset: 0)
        // Longer than two polls of the file: an empty file is seen, twice, and rejected.
        try await Task.sleep(for: .milliseconds(2_500))
        let half = document([("web", "10.8.0.1")])
        try handle.write(contentsOf: Data(half.utf8))
        // Shorter than a poll: the half is never seen twice, so never taken.
        try await Task.sleep(for: .milliseconds(900))
        try handle.write(contentsOf: Data(full.dropFirst(half.count).utf8))
        try handle.close()
        try await Task.sleep(for: .milliseconds(2_500))

        // An explicit empty set is refused without --allow-empty: the published set stays.
        let empty = file + ".new"
        try "services: []\n".write(toFile: empty, atomically: false, encoding: .utf8)
        XCTAssertEqual(rename(empty, file), 0)
        let deadline = ContinuousClock.now + .seconds(10)
        while !publisherLog.text.contains("--allow-empty") && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTAssertTrue(publisherLog.text.contains("--allow-empty"), publisherLog.text)
        stop.store(true, ordering: .relaxed)
        while !asking.isFinished { try await Task.sleep(for: .milliseconds(20)) }
        XCTAssertEqual(lost.text, "", "an export left the answers")
        XCTAssertTrue(publisherLog.text.contains("registry rejected"), publisherLog.text)
        try Self.awaitAnswer(server, ["10.8.0.2"], name: "api.shop.svc.supercluster.local")
    }

    /// Issue "a registry you can trust": two publishers of one cluster (a rollout's overlap, `replicas: 2`, a
    /// mistyped `--cluster`) used to replace each other's set at every keep-alive, and the answers flapped
    /// between the two. Now the second waits on the first's claim: for 20 s every answer is the first's. Stopped
    /// (SIGTERM), the first gives its claim up and the second takes over; no answer in between is empty.
    func testTwoPublishersOfOneClusterNeverFightAndTheSecondTakesOverWithoutAGap() async throws {
        let etcd = try await EtcdCluster()
        let first = directory + "/first.yaml"
        let second = directory + "/second.yaml"
        try writeExports(first, web: ["10.8.1.1"])
        try writeExports(second, web: ["10.8.2.1", "10.8.2.2"])
        let (publisherA, logA) = try Self.publish(first, to: etcd, leaseTTL: 3)
        defer { if publisherA.isRunning { kill(publisherA.processIdentifier, SIGKILL) } }
        let server = try ServerProcess(arguments: ["--etcd", etcd.endpoints[0]])
        try Self.awaitAnswer(server, ["10.8.1.1"])
        let (publisherB, logB) = try Self.publish(second, to: etcd, leaseTTL: 3)
        defer { if publisherB.isRunning { kill(publisherB.processIdentifier, SIGKILL) } }
        try await logB.await("another publisher holds this cluster's claim")
        XCTAssertTrue(
            logB.text.contains(" pid \(publisherA.processIdentifier) holder_lease="),
            "the waiting publisher says whom it waits for: \(logB.text)")

        // 20 s: more than six lease TTLs, each with three keep-alives and heartbeats from each publisher.
        var seen: [[String]: Int] = [:]
        let watchedUntil = Date().addingTimeInterval(20)
        while Date() < watchedUntil {
            seen[try Self.answer(server).addresses, default: 0] += 1
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTAssertEqual(Array(seen.keys), [["10.8.1.1"]], "every answer for 20 s is the first publisher's: \(seen)")
        XCTAssertEqual(logB.text.components(separatedBy: "exports published").count - 1, 0, logB.text)

        // The first stops as a rollout stops it; the second takes over, and nothing in between is empty.
        kill(publisherA.processIdentifier, SIGTERM)
        var answers: [[String]] = []
        let takeoverDeadline = Date().addingTimeInterval(10)
        while Date() < takeoverDeadline {
            let answer = try Self.answer(server).addresses
            if answers.last != answer { answers.append(answer) }
            if answer == ["10.8.2.1", "10.8.2.2"] { break }
        }
        // The takeover can be quicker than one dig: the first answer seen may already be the second's.
        XCTAssertEqual(answers.last, ["10.8.2.1", "10.8.2.2"], "answers through the takeover: \(answers)")
        XCTAssertTrue(
            answers.allSatisfy { $0 == ["10.8.1.1"] || $0 == ["10.8.2.1", "10.8.2.2"] },
            "answers through the takeover: \(answers)")
        publisherA.waitUntilExit()
        XCTAssertEqual(publisherA.terminationStatus, 0, logA.text)
        XCTAssertTrue(logA.text.contains("claim given up"), logA.text)
        XCTAssertTrue(logB.text.contains("cluster claimed"), logB.text)
        // The first's lease runs out (3 s) with nothing left on it: the second's exports stay.
        let listing = try Self.registry(["list", "--etcd", etcd.endpoints[0]])
        XCTAssertTrue(listing.contains("c1 publisher: "), listing)
        try await Task.sleep(for: .seconds(4))
        XCTAssertEqual(try Self.answer(server).addresses, ["10.8.2.1", "10.8.2.2"])
    }

    func testEtcdDownForTenSecondsChangesNoAnswerAndALaterChangeIsPickedUp() async throws {
        let etcd = try await EtcdCluster()
        let client = try etcd.client()
        try await client.put("/scdns/v1/clusters/c1/services/shop/web", value: Self.export(["10.7.0.1"]))
        let server = try ServerProcess(arguments: ["--etcd", etcd.endpoints[0]])
        try Self.awaitAnswer(server, ["10.7.0.1"])

        let offset = server.output.count
        etcd.kill(0)
        try server.awaitLog(matching: "etcd unreachable: answering from the last snapshot", after: offset)
        // Ten seconds and at least 20 queries, however slow the machine runs dig: a count of queries in a fixed
        // time was a timing figure (a loaded CI run managed 7).
        let until = Date().addingTimeInterval(10)
        var queries = 0
        while Date() < until || queries < 20 {
            let seen = try Self.answer(server)
            XCTAssertEqual(seen.status, "NOERROR")
            XCTAssertEqual(seen.addresses, ["10.7.0.1"])
            queries += 1
            try await Task.sleep(for: .milliseconds(100))
        }

        try await etcd.restart(0)
        try server.awaitLog(matching: "etcd reachable again", after: offset)
        try await client.put("/scdns/v1/clusters/c2/services/shop/web", value: Self.export(["10.7.0.2"], cluster: "c2"))
        try Self.awaitAnswer(server, ["10.7.0.1", "10.7.0.2"])
    }

    func testACompactionPastTheWatchersRevisionForcesAResyncWithTheRightAnswers() async throws {
        let etcd = try await EtcdCluster()
        let client = try etcd.client()
        try await client.put("/scdns/v1/clusters/c1/services/shop/web", value: Self.export(["10.6.0.1"]))
        try await client.put("/scdns/v1/clusters/c1/services/shop/old", value: Self.export(["10.6.0.9"], name: "old"))
        let server = try ServerProcess(arguments: ["--etcd", etcd.endpoints[0]])
        try Self.awaitAnswer(server, ["10.6.0.1"])
        try Self.awaitAnswer(server, ["10.6.0.9"], name: "old.shop.svc.supercluster.local")

        // Behind the watcher's back: etcd comes up on another port, changes, compacts past every revision the
        // watcher has seen, and returns to the port the watcher knows.
        let offset = server.output.count
        let home = etcd.members[0].clientPort
        etcd.kill(0)
        try await etcd.restart(0, clientPort: try LoopbackPort.reserve())
        let hidden = try etcd.client()
        try await hidden.put("/scdns/v1/clusters/c1/services/shop/web", value: Self.export(["10.6.0.2"]))
        try await hidden.delete("/scdns/v1/clusters/c1/services/shop/old")
        try await hidden.put("/scdns/v1/clusters/c1/services/shop/new", value: Self.export(["10.6.0.3"], name: "new"))
        try await hidden.compact(revision: try await hidden.currentRevision())
        etcd.kill(0)
        try await etcd.restart(0, clientPort: home)

        try server.awaitLog(matching: "etcd compacted past the watched revision; listing again", after: offset)
        try Self.awaitAnswer(server, ["10.6.0.2"])
        try Self.awaitAnswer(server, [], name: "old.shop.svc.supercluster.local")
        try Self.awaitAnswer(server, ["10.6.0.3"], name: "new.shop.svc.supercluster.local")
    }

    func testAThreeMemberClusterLosesTheWatchedMemberWithNoGapInAnswersOrUpdates() async throws {
        let etcd = try await EtcdCluster(size: 3)
        let client = try etcd.client([1, 2])
        try await client.put("/scdns/v1/clusters/c1/services/shop/web", value: Self.export(["10.5.0.1"]))
        // The server follows member 0 first (the first endpoint), the one that is killed.
        let server = try ServerProcess(arguments: etcd.endpoints.flatMap { ["--etcd", $0] })
        try Self.awaitAnswer(server, ["10.5.0.1"])

        let failures = LockedText()
        let answered = Counter()
        let stop = Counter()
        let port = server.port
        let querying = Thread {
            while stop.value == 0 {
                do {
                    let output = try Tools.dig(port: port, ["+tries=1", "+time=1", Self.name, "A"])
                    let status = Tools.status(output) ?? "no answer"
                    let records = Tools.records(output)
                    if status != "NOERROR" || records.isEmpty { failures.append("\(status) \(records)\n") }
                    answered.increment()
                } catch {
                    failures.append("\(error)\n")
                }
            }
            stop.increment()
        }
        querying.start()
        defer {
            if stop.value == 0 { stop.increment() }
        }

        // Queries run before the kill, through the failover, and on until 20 more were answered after both
        // updates arrived: the loop spans the whole failover whatever its speed.
        try await awaitCount(answered, atLeast: 5)
        let offset = server.output.count
        etcd.kill(0)
        // The next change, written through the surviving members, must arrive by the watch on another member.
        try await client.put("/scdns/v1/clusters/c2/services/shop/web", value: Self.export(["10.5.0.2"], cluster: "c2"))
        try Self.awaitAnswer(server, ["10.5.0.1", "10.5.0.2"])
        try await client.put("/scdns/v1/clusters/c1/services/shop/web", value: Self.export(["10.5.0.3"]))
        try Self.awaitAnswer(server, ["10.5.0.2", "10.5.0.3"])
        try await awaitCount(answered, atLeast: answered.value + 20)
        stop.increment()
        while stop.value < 2 { try await Task.sleep(for: .milliseconds(10)) }
        XCTAssertEqual(failures.text, "", "every query during the failover was answered")
        let after = String(server.output.dropFirst(offset))
        // The watch went on at a surviving member: moved there directly, or, when the kill set off a leader
        // election that failed a probe first, after a moment of staleness.
        let survivors = etcd.endpoints.dropFirst()
        XCTAssertTrue(
            survivors.contains { after.contains("to=\($0)") || after.contains("endpoint=\($0)") }, after)
        XCTAssertFalse(after.contains("listing again"), "a failover resumes, it does not relist")
    }
}

/// Waits until `counter` reaches `target`, failing after 30 seconds.
func awaitCount(
    _ counter: Counter, atLeast target: Int, file: StaticString = #filePath, line: UInt = #line
)
    async throws
{
    let deadline = ContinuousClock.now + .seconds(30)
    while counter.value < target {
        guard ContinuousClock.now < deadline else {
            XCTFail("count stayed at \(counter.value), below \(target)", file: file, line: line)
            throw TestFailure("count not reached")
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// A counter shared between a test and its helper thread.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func increment() {
        lock.lock()
        count += 1
        lock.unlock()
    }

    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}
