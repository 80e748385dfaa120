import Foundation
import RegistryEtcd
import XCTest

/// Issue "a registry you can trust": what an instance serves is a function of etcd's contents at one revision.
/// A random history of puts, deletes, invalid values, disagreeing exports and transactions goes to a real etcd
/// while one server runs through all of it, a second starts halfway and a third at the end; at the end all three
/// must say the same SOA serial (the revision of the last change, here a delete, which a listing cannot see) and
/// give the same answer to every name, type and client locality.
final class EtcdAgreementTests: XCTestCase {
    /// SplitMix64: a failing history is replayed from its seed.
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

    static let names = ["web", "api", "db"]
    static let clusters = ["c1": ("r1", "r1a"), "c2": ("r1", "r1b"), "c3": ("r2", "r2a")]

    /// One cluster's export of `name`: usually valid, sometimes disagreeing with others (Headless, another vip or
    /// port number), sometimes invalid.
    static func value(_ name: String, _ cluster: String, using random: inout SeededGenerator) -> String {
        let (region, zone) = clusters[cluster]!
        let head =
            #""name":"\#(name)","namespace":"app","cluster":"\#(cluster)","region":"\#(region)","zone":"\#(zone)""#
        let address = "10.50.\(Int.random(in: 0...3, using: &random)).\(Int.random(in: 1...4, using: &random))"
        let weight = [50, 100, 300].randomElement(using: &random)!
        let healthy = Int.random(in: 0..<6, using: &random) != 0
        switch Int.random(in: 0..<12, using: &random) {
        case 0:
            return "{" + head + #","addresses":["10.50.0.300"]}"#
        case 1, 2:
            return "{" + head
                + #","type":"Headless","ports":[{"name":"http","port":80}],"endpoints":[{"hostname":"h","addresses":["\#(address)"]}]}"#
        case 3:
            return "{" + head
                + #","vip":"10.96.0.\#(Int.random(in: 1...2, using: &random))","addresses":["\#(address)"]}"#
        case 4:
            return "{" + head + #","ports":[{"name":"http","port":8080}],"addresses":["\#(address)"]}"#
        default:
            return "{" + head
                + #","ports":[{"name":"http","port":80}],"addresses":["\#(address)"],"weight":\#(weight),"healthy":\#(healthy)}"#
        }
    }

    func testAFreshAHalfwayAndALongRunningInstanceAgreeAtTheSameRevision() async throws {
        let etcd = try await EtcdCluster()
        let client = try etcd.client()
        let layout = RegistryKeyLayout()
        let directory = etcd.scratchDirectory + "/agreement"
        try FileManager.default.createDirectory(atPath: directory + "/zones", withIntermediateDirectories: true)
        // No zone files: the zones are synthesized, and their SOA serial is the etcd revision.
        try """
        zones: zones
        locality: { cluster: c1, region: r1, zone: r1a }
        clients:
          - { network: 10.2.0.0/16, cluster: c2, region: r1, zone: r1b }
          - { network: 10.3.0.0/16, cluster: c3, region: r2, zone: r2a }
        registry: { etcd: { endpoints: [\(etcd.endpoints[0])] } }
        """.write(toFile: directory + "/scdns.yaml", atomically: true, encoding: .utf8)
        let arguments = ["--config", directory + "/scdns.yaml"]

        var random = SeededGenerator(state: 13)
        func step() async throws {
            let name = Self.names.randomElement(using: &random)!
            let cluster = Self.clusters.keys.sorted().randomElement(using: &random)!
            let key = layout.key(namespace: "app", name: name, cluster: cluster)
            switch Int.random(in: 0..<10, using: &random) {
            case 0...2:
                try await client.delete(key)
            case 3:
                var operations: [EtcdOperation] = []
                var keys: Set<String> = []
                for _ in 0..<3 {
                    let other = Self.names.randomElement(using: &random)!
                    let otherCluster = Self.clusters.keys.sorted().randomElement(using: &random)!
                    let otherKey = layout.key(namespace: "app", name: other, cluster: otherCluster)
                    guard keys.insert(otherKey).inserted else { continue }
                    operations.append(
                        Bool.random(using: &random)
                            ? .put(key: otherKey, value: Self.value(other, otherCluster, using: &random), lease: 0)
                            : .delete(key: otherKey))
                }
                try await client.transaction(operations)
            default:
                try await client.put(key, value: Self.value(name, cluster, using: &random))
            }
        }

        let longRunning = try ServerProcess(arguments: arguments)
        for _ in 0..<60 { try await step() }
        let halfway = try ServerProcess(arguments: arguments)
        for _ in 0..<60 { try await step() }
        // The last change is a delete: a listing sees no trace of it.
        let existing = try await client.list(prefix: layout.clustersPrefix).keyValues.map(\.keyText)
        let deleted = try XCTUnwrap(existing.last)
        try await client.delete(deleted)
        let lastChange = try await client.currentRevision()
        let fresh = try ServerProcess(arguments: arguments)

        let servers = [("long-running", longRunning), ("halfway", halfway), ("fresh", fresh)]
        for (label, server) in servers {
            let deadline = Date().addingTimeInterval(15)
            var serial: UInt64? = nil
            while Date() < deadline {
                serial = Self.soaSerial(try Tools.dig(port: server.port, ["supercluster.local", "SOA"]))
                if serial == UInt64(lastChange) { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            XCTAssertEqual(serial, UInt64(lastChange), "\(label)'s SOA serial; its log:\n\(server.output)")
        }

        var queries: [[String]] = [["supercluster.local", "SOA"], ["global", "SOA"]]
        for name in Self.names {
            let service = "\(name).app.svc.supercluster.local"
            queries += [
                [service, "A"], [service, "AAAA"], ["_http._tcp." + service, "SRV"], [name + ".app.global", "A"],
            ]
            for cluster in Self.clusters.keys.sorted() {
                queries += [["\(cluster).\(service)", "A"], ["h.\(cluster).\(service)", "A"]]
            }
        }
        var compared = 0
        var withRecords = 0
        for subnet in [nil, "10.2.0.0/24", "10.3.0.0/24", "10.9.0.0/24"] {
            for query in queries {
                let flags = subnet.map { ["+subnet=\($0)"] } ?? []
                var answers: [String: String] = [:]
                for (label, server) in servers {
                    answers[label] = Self.comparable(try Tools.dig(port: server.port, flags + query))
                }
                if answers["halfway"] != answers["long-running"] || answers["fresh"] != answers["long-running"] {
                    XCTFail(
                        "\(query) from \(subnet ?? "no subnet"):\n"
                            + (try servers.map { label, server in
                                try Self.diagnosis(label, server, answers[label]!, query: query, subnet: subnet)
                            }.joined(separator: "\n")))
                }
                compared += 1
                if answers["fresh"]?.contains("ANSWER: \n") == false { withRecords += 1 }
            }
        }
        XCTAssertEqual(compared, 4 * (2 + 3 * (4 + 6)))
        // Not a comparison of empty answers: the history left services to answer, and had values to reject.
        XCTAssertGreaterThan(withRecords, 40)
        try longRunning.awaitLog(matching: "etcd export rejected")
    }

    /// What one instance answered, why (`/explain` for the query, from the registry it serves), and that registry:
    /// whether instances that disagree hold different registries or compiled the same one differently.
    static func diagnosis(
        _ label: String, _ server: ServerProcess, _ answer: String, query: [String], subnet: String?
    ) throws -> String {
        let admin = try server.adminPort()
        let type = query.count > 1 ? query[1] : "A"
        let explain = try AdminClient.get(
            "/explain?name=\(query[0])&type=\(type)&client=127.0.0.1" + (subnet.map { "&ecs=\($0)" } ?? ""),
            port: admin)
        let registry = try AdminClient.get("/registry", port: admin)
        return "\(label) answered:\n\(answer)\nexplained: \(explain.body)\nserving: \(registry.body)\n"
    }

    static func soaSerial(_ output: String) -> UInt64? {
        for record in Tools.records(output) {
            let fields = record.split(separator: " ")
            if fields.count >= 7, fields[3] == "SOA" { return UInt64(fields[6]) }
        }
        return nil
    }

    /// The status and every section's records, sorted: the order inside a tier rotates per query, and each
    /// instance has answered a different number of queries.
    static func comparable(_ output: String) -> String {
        var parts = [Tools.status(output) ?? "no answer"]
        for section in ["ANSWER", "AUTHORITY", "ADDITIONAL"] {
            let records = Tools.section(section, of: output).split(separator: "\n").map {
                $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
            }
            parts.append(section + ": " + records.filter { !$0.hasPrefix(";") }.sorted().joined(separator: " | "))
        }
        return parts.joined(separator: "\n")
    }
}
