import DNSWire
import ServiceRegistry
import XCTest

@testable import DNSPipeline

/// The snapshots a server serves through a long history of small changes, as `AnswerPublisher` makes them:
/// overlays over the last full snapshot, told which services changed since it, and folds (full builds reusing
/// the previous full snapshot's nodes) that start at one change and end several changes later. Each served
/// snapshot must answer every name, type and locality exactly as a build of its registry from scratch.
///
/// The histories are shaped like `EtcdAgreementTests`' (three services exported by three clusters, types, vips,
/// ports, health and weights changing, exports coming and going, no zone files), where a long-running instance
/// was once seen answering a global name with no address from one locality while a fresh one answered it.
final class RandomHistoryTests: XCTestCase {
    let settings = LocalityFixture.settings(
        clients: [("10.245.0.0/16", LocalityFixture.b), ("10.246.0.0/16", LocalityFixture.c)])
    let localities = [LocalityFixture.a, LocalityFixture.b, LocalityFixture.c]
    let sources = ["10.244.0.5", "10.245.0.5", "10.246.0.5"]
    /// The types whose answers services change (IncrementalBuildTests covers the rest).
    let types: [RecordType] = [.a, .aaaa, .srv, .ptr, .soa]

    /// One cluster's export of a service, and the shape it asks the service to have.
    struct Export: Equatable {
        var type: ServiceType
        var vip: IPAddress?
        var port: UInt16
        var export: ClusterExport
    }

    static func address(using random: inout SplitMix64) -> IPAddress {
        if Int.random(in: 0..<6, using: &random) == 0 {
            return IPAddress("fd00:50::\(Int.random(in: 1...4, using: &random))")!
        }
        return IPAddress("10.50.\(Int.random(in: 0...3, using: &random)).\(Int.random(in: 1...4, using: &random))")!
    }

    func export(from locality: Locality, using random: inout SplitMix64) -> Export {
        let type: ServiceType = Int.random(in: 0..<4, using: &random) == 0 ? .headless : .clusterSetIP
        let vip =
            type == .clusterSetIP && Int.random(in: 0..<5, using: &random) == 0
            ? IPAddress("10.96.0.\(Int.random(in: 1...2, using: &random))") : nil
        let port: UInt16 = Int.random(in: 0..<6, using: &random) == 0 ? 8080 : 80
        var export = ClusterExport(
            locality: locality, weight: [50, 100, 300].randomElement(using: &random)!,
            healthy: Int.random(in: 0..<5, using: &random) != 0)
        if type == .headless {
            export.endpoints = (0..<Int.random(in: 1...2, using: &random)).map {
                Endpoint(
                    hostname: "h\($0)", addresses: [Self.address(using: &random)],
                    ready: Int.random(in: 0..<5, using: &random) != 0)
            }
        } else {
            export.addresses = (0..<Int.random(in: 1...2, using: &random)).map { _ in Self.address(using: &random) }
        }
        return Export(type: type, vip: vip, port: port, export: export)
    }

    /// The service its exports make, taken in cluster order: an export whose type, vip or port disagrees with
    /// the first is left out (as the etcd source leaves out the younger of two disagreeing exports).
    static func service(_ id: ServiceID, _ exports: [String: Export]) -> Service? {
        let ordered = exports.sorted { $0.key < $1.key }.map(\.value)
        guard let first = ordered.first else { return nil }
        let agreeing = ordered.filter { $0.type == first.type && $0.vip == first.vip && $0.port == first.port }
        return Service(
            name: id.name, namespace: id.namespace, type: first.type, vip: first.vip,
            ports: [ServicePort(name: "http", port: first.port)], clusters: agreeing.map(\.export))
    }

    static func registry(_ held: [ServiceID: [String: Export]], version: UInt64) -> RegistrySnapshot {
        let services = held.keys.sorted().compactMap { service($0, held[$0]!) }
        return RegistrySnapshot(services: services, version: version, origin: "history")
    }

    /// Every name the history's services can have, and their namespaces, in every naming tree, and the reverse
    /// names of every address the generator makes.
    func names(_ ids: [ServiceID]) -> [String] {
        var names = ["supercluster.local", "clusterset.local", "global", "svc.supercluster.local"]
        for id in ids {
            for base in ["svc.supercluster.local", "svc.clusterset.local", "global"] {
                let root = "\(id.name).\(id.namespace).\(base)"
                names += [root, "\(id.namespace).\(base)", "_http._tcp.\(root)"]
                for locality in localities {
                    names += ["\(locality.cluster).\(root)", "h0.\(locality.cluster).\(root)"]
                    names.append("h1.\(locality.cluster).\(root)")
                }
            }
        }
        for third in 0...3 {
            for fourth in 1...4 { names.append("\(fourth).\(third).50.10.in-addr.arpa") }
        }
        for fourth in 1...2 { names.append("\(fourth).0.0.96.10.in-addr.arpa") }
        for last in 1...4 {
            let nibbles = ["\(last)"] + Array(repeating: "0", count: 27) + ["0", "5", "0", "0", "d", "f"]
            names.append(nibbles.joined(separator: ".") + ".ip6.arpa")
        }
        return names
    }

    /// The first query whose answer differs between the two snapshots, or nil. With EDNS, so big answers come
    /// whole (truncation is the same code for every snapshot).
    func firstDifference(_ served: AnswerSnapshot, _ scratch: AnswerSnapshot, names: [String]) throws -> String? {
        if served.nameCount != scratch.nameCount { return "names: \(served.nameCount) against \(scratch.nameCount)" }
        for name in names {
            let question = try DNSName(name)
            for type in types {
                let query = Message(
                    header: Header(id: 0x4242), questions: [Question(name: question, type: type)],
                    edns: EDNS(udpPayloadSize: 4096)
                ).serialized()
                for source in sources {
                    // The same seed on both sides: rotations draw the same numbers.
                    let left = QueryProcessor(snapshot: served, seed: 9)
                    let right = QueryProcessor(snapshot: scratch, seed: 9)
                    let client = ClientContext.from(source)
                    for _ in 0..<2 where left.process(query, client: client) != right.process(query, client: client) {
                        return "\(name) \(type) from \(source)"
                    }
                }
            }
        }
        return nil
    }

    /// Replays one history; returns the first step whose served snapshot answers otherwise than a build from
    /// scratch, described, or nil.
    func replay(seed: UInt64, steps: Int) throws -> String? {
        // SplitMix64 (MalformedQueryTests): a failing history is replayed from its seed.
        var random = SplitMix64(seed: seed)
        let ids = ["web", "api", "db"].map { ServiceID(namespace: "app", name: $0) }
        let clusters = ["cluster-a", "cluster-b", "cluster-c"]
        var held: [ServiceID: [String: Export]] = [:]
        // Odd seeds start from nothing, as a server started before its etcd held anything.
        for id in ids where seed % 2 == 0 {
            for (cluster, locality) in zip(clusters, localities) where Bool.random(using: &random) {
                held[id, default: [:]][cluster] = export(from: locality, using: &random)
            }
        }
        var registries = [Self.registry(held, version: 1)]
        // What each change touched (index: the registry it made), as the etcd source's deltas say.
        var touched: [[ServiceID]] = [[]]
        var full = AnswerSnapshot.build(registry: registries[0], zones: [], settings: settings)
        var fullIndex = 0
        // A fold under way: the registry it builds and the full snapshot it reuses.
        var fold: (index: Int, previous: AnswerSnapshot)? = nil
        var log: [String] = []
        let names = names(ids)

        for step in 1...steps {
            // One change: an export put, replaced or deleted, or a few in one transaction.
            var changed: Set<ServiceID> = []
            for _ in 0..<(Int.random(in: 0..<4, using: &random) == 0 ? 3 : 1) {
                let id = ids.randomElement(using: &random)!
                let index = Int.random(in: 0..<3, using: &random)
                if Int.random(in: 0..<3, using: &random) == 0 {
                    held[id]?[clusters[index]] = nil
                    if held[id]?.isEmpty == true { held[id] = nil }
                } else {
                    held[id, default: [:]][clusters[index]] = export(from: localities[index], using: &random)
                }
                changed.insert(id)
            }
            registries.append(Self.registry(held, version: UInt64(step + 1)))
            touched.append(Array(changed))
            let current = registries.count - 1

            // A fold ends now, or starts now, or neither; then the overlay of what changed since the full build.
            switch Int.random(in: 0..<4, using: &random) {
            case 0 where fold != nil:
                let (index, previous) = fold!
                full = AnswerSnapshot.build(
                    registry: registries[index], zones: [], settings: settings, previous: previous)
                fullIndex = index
                fold = nil
                log.append("\(step): fold of \(index) ends")
            case 1 where fold == nil:
                fold = (current, full)
                log.append("\(step): fold of \(current) starts")
            default:
                break
            }
            let served: AnswerSnapshot
            if fullIndex == current {
                served = full
            } else {
                let since = touched[(fullIndex + 1)...current].flatMap { $0 }
                guard
                    let overlay = AnswerSnapshot.overlay(
                        registry: registries[current], baseRegistry: registries[fullIndex], over: full, zones: [],
                        settings: settings, changed: since)
                else { return "step \(step): no overlay" }
                served = overlay
            }
            let scratch = AnswerSnapshot.build(registry: registries[current], zones: [], settings: settings)
            if let difference = try firstDifference(served, scratch, names: names) {
                return "seed \(seed), step \(step) (full at \(fullIndex)): \(difference)\n"
                    + log.suffix(6).joined(separator: "\n")
            }
        }
        return nil
    }

    func testLongHistoriesServeWhatABuildFromScratchWould() throws {
        for seed in UInt64(1)...UInt64(4) {
            if let failure = try replay(seed: seed, steps: 40) {
                XCTFail(failure)
                return
            }
        }
    }
}
