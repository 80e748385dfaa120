import DNSWire
import ServiceRegistry
import XCTest

@testable import DNSPipeline

/// A snapshot built from the previous one (copying the nodes of unchanged services) must answer every query
/// exactly as one built from scratch: every name of both registries, every type, from every locality.
final class IncrementalBuildTests: XCTestCase {
    /// Three localities (clients in cluster-b and cluster-c besides the own cluster-a), so ordered answers have
    /// per-locality variants, precompiled orderings and rotation plans to copy.
    let settings = LocalityFixture.settings(
        clients: [("10.245.0.0/16", LocalityFixture.b), ("10.246.0.0/16", LocalityFixture.c)])
    let sources = ["10.244.0.5", "10.245.0.5", "10.246.0.5"]
    let types: [RecordType] = [.a, .aaaa, .srv, .any, .txt, .ptr, .soa, .ns, .cname]

    func build(
        _ services: [Service], version: UInt64, previous: AnswerSnapshot? = nil, settings: PipelineSettings? = nil
    ) -> AnswerSnapshot {
        AnswerSnapshot.build(
            registry: PipelineFixture.registry(services, version: version), zones: [PipelineFixture.zone],
            settings: settings ?? self.settings, previous: previous)
    }

    /// `services` compiled by `AnswerCompiler` itself: each service apart (as a server compiles them) or with
    /// every record gathered together.
    func compile(
        _ services: [Service], apart: Bool = true, version: UInt64 = 1, previous: AnswerSnapshot? = nil,
        settings: PipelineSettings? = nil, zones: [AuthoritativeZone] = [PipelineFixture.zone]
    ) -> AnswerSnapshot {
        var compiler = AnswerCompiler(
            registry: PipelineFixture.registry(services, version: version), zoneFiles: zones,
            settings: settings ?? self.settings, previous: previous)
        compiler.compilesServicesApart = apart
        return compiler.compile()
    }

    /// The fixture's services plus `ns.dns`, whose global name is the NS host of the synthesized `global.` zone:
    /// `global. NS` carries its addresses as additional data.
    var baseServices: [Service] {
        (PipelineFixture.services + [
            Service(
                name: "ns", namespace: "dns",
                clusters: [ClusterExport(locality: LocalityFixture.a, addresses: [IPAddress("10.100.53.1")!])])
        ]).sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
    }

    /// Every name either registry can answer or deny, and a few around them.
    func names(_ registries: [[Service]]) -> [String] {
        var names: Set<String> = [
            "supercluster.local", "svc.supercluster.local", "docs.supercluster.local", "gateway.supercluster.local",
            "dns-version.supercluster.local", "clusterset.local", "global", "nothere.app.svc.supercluster.local",
        ]
        for service in registries.flatMap({ $0 }) {
            for base in ["svc.supercluster.local", "svc.clusterset.local", "global"] {
                let root = "\(service.name).\(service.namespace).\(base)"
                names.formUnion([root, "\(service.namespace).\(base)", "x.\(root)"])
                for port in service.ports {
                    if let name = port.name {
                        names.insert("_\(name)._\(port.portProtocol.rawValue.lowercased()).\(root)")
                        names.insert("_\(port.portProtocol.rawValue.lowercased()).\(root)")
                    }
                }
                for export in service.clusters {
                    names.insert("\(export.cluster).\(root)")
                    for endpoint in export.endpoints { names.insert("\(endpoint.hostname).\(export.cluster).\(root)") }
                }
            }
            for address in service.clusters.flatMap({ $0.addresses + $0.endpoints.flatMap(\.addresses) })
                + [service.vip].compactMap({ $0 })
            {
                if address.isIPv4 {
                    names.insert(address.bytes.reversed().map(String.init).joined(separator: ".") + ".in-addr.arpa")
                } else {
                    let nibbles = address.bytes.reversed().flatMap { [$0 & 0x0F, $0 >> 4] }
                    names.insert(nibbles.map { String($0, radix: 16) }.joined(separator: ".") + ".ip6.arpa")
                }
            }
        }
        return names.sorted()
    }

    func assertSameAnswers(
        _ incremental: AnswerSnapshot, _ scratch: AnswerSnapshot, names: [String], file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        XCTAssertEqual(incremental.nameCount, scratch.nameCount, "names", file: file, line: line)
        var compared = 0
        for name in names {
            for type in types {
                for source in sources {
                    // Without EDNS big answers are truncated; with it they are whole and their orders rotate.
                    for edns in [nil, EDNS(udpPayloadSize: 4096)] {
                        // The same seed on both sides: rotations draw the same numbers.
                        let left = QueryProcessor(snapshot: incremental, seed: 9)
                        let right = QueryProcessor(snapshot: scratch, seed: 9)
                        let client = ClientContext.from(source)
                        let query = Message(
                            header: Header(id: 0x4242), questions: [Question(name: try DNSName(name), type: type)],
                            edns: edns
                        ).serialized()
                        for _ in 0..<2 where left.process(query, client: client) != right.process(query, client: client)
                        {
                            XCTFail("\(name) \(type) from \(source) differs", file: file, line: line)
                            return
                        }
                        compared += 1
                    }
                }
            }
        }
        XCTAssertGreaterThan(compared, 1000, file: file, line: line)
    }

    /// Registries in turn, each one kind of change from the one before.
    func changeSteps() -> [(String, [Service])] {
        let base = baseServices
        var changes: [(String, [Service])] = []
        func changed(_ description: String, _ edit: (inout [Service]) -> Void) {
            var services = changes.last?.1 ?? base
            edit(&services)
            services.sort { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
            changes.append((description, services))
        }
        func index(_ name: String, in services: [Service]) -> Int { services.firstIndex { $0.name == name }! }
        changed("an address changes") {
            $0[index("backend", in: $0)].clusters[1].addresses = [IPAddress("10.101.0.9")!]
        }
        changed("a weight and a health change") {
            let backend = index("backend", in: $0)
            $0[backend].clusters[2].weight = 700
            $0[index("legacy", in: $0)].clusters[1].healthy = false
        }
        changed("a service goes") { $0.remove(at: index("frontend", in: $0)) }
        changed("a service in a new namespace comes") {
            $0.append(
                Service(
                    name: "web", namespace: "shop", ports: [ServicePort(name: "http", port: 80)],
                    clusters: [
                        ClusterExport(locality: LocalityFixture.b, addresses: [IPAddress("10.101.9.1")!]),
                        ClusterExport(locality: LocalityFixture.c, addresses: [IPAddress("10.102.9.1")!]),
                    ]))
        }
        changed("a headless endpoint stops being ready, a port is added") {
            let db = index("db", in: $0)
            $0[db].clusters[0].endpoints[0].ready = false
            $0[db].ports.append(ServicePort(name: "metrics", port: 9187))
        }
        changed("the new namespace's only service goes") { $0.remove(at: index("web", in: $0)) }
        changed("a headless service loses its last ready endpoint") {
            let db = index("db", in: $0)
            for cluster in $0[db].clusters.indices {
                for endpoint in $0[db].clusters[cluster].endpoints.indices {
                    $0[db].clusters[cluster].endpoints[endpoint].ready = false
                }
            }
        }
        changed("two services share an address (one PTR name, two targets)") {
            $0[index("legacy", in: $0)].clusters[0].addresses = [IPAddress("10.100.0.1")!]
        }
        changed("one of the two leaves the shared address") {
            $0[index("legacy", in: $0)].clusters[0].addresses = [IPAddress("10.100.0.201")!]
        }
        changed("a service moves onto addresses that unchanged services hold (a ready endpoint's, an IPv6 one)") {
            $0[index("legacy", in: $0)].clusters[0].addresses = [IPAddress("10.103.0.1")!, IPAddress("fd00:200::1")!]
        }
        changed("and off them again") {
            $0[index("legacy", in: $0)].clusters[0].addresses = [IPAddress("10.100.0.201")!]
        }
        changed("nothing changes but the registry's version (the SOA serial)") { _ in }
        return changes
    }

    func testEveryKindOfChangeAnswersAsABuildFromScratch() throws {
        let base = baseServices
        let changes = changeSteps()
        var previous = build(base, version: 1)
        var registries = [base]
        for (step, (description, services)) in changes.enumerated() {
            let version = UInt64(step + 2)
            let incremental = build(services, version: version, previous: previous)
            let scratch = build(services, version: version)
            XCTAssertGreaterThan(
                incremental.reusedNames, scratch.nameCount / 2, "\(description): most names are copied, not compiled")
            XCTAssertEqual(scratch.reusedNames, 0)
            registries.append(services)
            try assertSameAnswers(incremental, scratch, names: names(registries))
            // Chained: the next step builds on the incremental one, as a server does.
            previous = incremental
        }
    }

    /// An overlay over the full snapshot of the first registry, for every later one (as the publisher keeps
    /// them while a full build folds the changes in), and each over the one before (an overlay of an overlay
    /// lies over the same base): every answer as a build from scratch, the SOA serial included. Each step twice:
    /// the overlay comparing the registries, and the overlay told which services changed since the base (as the
    /// etcd source's deltas tell the publisher), given a superset as a delta may be (`wide` never changes).
    func testAnOverlayAnswersEveryKindOfChangeAsABuildFromScratch() throws {
        let base = baseServices
        let baseRegistry = PipelineFixture.registry(base, version: 1)
        let full = AnswerSnapshot.build(registry: baseRegistry, zones: [PipelineFixture.zone], settings: settings)
        var previous = full
        var touched: Set<ServiceID> = [ServiceID(namespace: "app", name: "wide")]
        var registries = [base]
        for (step, (description, services)) in changeSteps().enumerated() {
            // The test's own account of what changed: every service whose value differs, or that came or went.
            let before = Dictionary(uniqueKeysWithValues: registries.last!.map { (ServiceID($0), $0) })
            let after = Dictionary(uniqueKeysWithValues: services.map { (ServiceID($0), $0) })
            touched.formUnion(Set(before.keys).union(after.keys).filter { before[$0] != after[$0] })
            let version = UInt64(step + 2)
            let registry = PipelineFixture.registry(services, version: version)
            let compared = try XCTUnwrap(
                AnswerSnapshot.overlay(
                    registry: registry, baseRegistry: baseRegistry, over: previous, zones: [PipelineFixture.zone],
                    settings: settings),
                description)
            let told = try XCTUnwrap(
                AnswerSnapshot.overlay(
                    registry: registry, baseRegistry: baseRegistry, over: previous, zones: [PipelineFixture.zone],
                    settings: settings, changed: Array(touched)),
                "\(description), told")
            let scratch = build(services, version: version)
            registries.append(services)
            for overlay in [compared, told] {
                XCTAssertTrue(overlay.base === full, "\(description): an overlay always lies over the full snapshot")
                XCTAssertLessThan(overlay.overlaidServices, services.count, description)
                try assertSameAnswers(overlay, scratch, names: names(registries))
            }
            previous = compared
        }
    }

    /// The list is trusted, not checked: told that nothing changed, an overlay compiles no changed service and
    /// reads none of the registry (which is what makes it cost the change alone); only `ns.dns`, the NS host of
    /// the synthesized `global.` zone, is compiled, as always, for the zone's new serial.
    func testAnOverlayToldNothingChangedLooksAtNoService() throws {
        let base = baseServices
        let baseRegistry = PipelineFixture.registry(base, version: 1)
        let full = AnswerSnapshot.build(registry: baseRegistry, zones: [PipelineFixture.zone], settings: settings)
        let (_, changed) = changeSteps()[0]
        let registry = PipelineFixture.registry(changed, version: 2)
        let told = try XCTUnwrap(
            AnswerSnapshot.overlay(
                registry: registry, baseRegistry: baseRegistry, over: full, zones: [PipelineFixture.zone],
                settings: settings, changed: []))
        XCTAssertEqual(told.overlaidServices, 1)
        let compared = try XCTUnwrap(
            AnswerSnapshot.overlay(
                registry: registry, baseRegistry: baseRegistry, over: full, zones: [PipelineFixture.zone],
                settings: settings))
        XCTAssertGreaterThan(compared.overlaidServices, 1, "compared, the change is found")
    }

    /// `previous` built under other naming trees (one service zone fewer) copies nothing of a tree it did not
    /// have: each tree's services are found by the tree's name, not its place in the list.
    func testAPreviousSnapshotOfOtherNamingTreesLendsNoNodesOfAnother() throws {
        var narrower = settings
        narrower.serviceZones = [try DNSName("clusterset.local")]
        let wide = build(baseServices, version: 1)
        let copied = build(baseServices, version: 2, previous: wide, settings: narrower)
        let scratch = build(baseServices, version: 2, settings: narrower)
        XCTAssertGreaterThan(copied.reusedNames, 0, "the clusterset.local and global names are copied")
        try assertSameAnswers(copied, scratch, names: names([baseServices]))
    }

    /// Where an overlay could not be exact, or would cost as much as a full build, there is none.
    func testNoOverlayWhereItCouldNotBeExact() throws {
        let services = PipelineFixture.services.sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
        let registry = PipelineFixture.registry(services, version: 1)
        var changed = services
        let frontend = changed.firstIndex { $0.name == "frontend" }!
        changed[frontend].clusters[0].addresses = [IPAddress("10.100.0.77")!]
        let next = PipelineFixture.registry(changed, version: 2)
        let full = AnswerSnapshot.build(registry: registry, zones: [PipelineFixture.zone], settings: settings)
        XCTAssertNotNil(
            AnswerSnapshot.overlay(
                registry: next, baseRegistry: registry, over: full, zones: [PipelineFixture.zone], settings: settings))
        XCTAssertNil(
            AnswerSnapshot.overlay(
                registry: next, baseRegistry: registry, over: full, zones: [PipelineFixture.zone], settings: settings,
                maxServices: 0),
            "more changed services than allowed")
        XCTAssertNil(
            AnswerSnapshot.overlay(
                registry: PipelineFixture.registry(changed.reversed(), version: 2), baseRegistry: registry, over: full,
                zones: [PipelineFixture.zone], settings: settings),
            "a registry not sorted by namespace and name")
        // A zone record points into the changed service.
        var zone = PipelineFixture.zone
        zone.records.append(
            ResourceRecord(
                name: PipelineFixture.name("alias.supercluster.local."), ttl: 60,
                data: .cname(PipelineFixture.name("frontend.app.svc.supercluster.local."))))
        let withAlias = AnswerSnapshot.build(registry: registry, zones: [zone], settings: settings)
        XCTAssertNil(
            AnswerSnapshot.overlay(
                registry: next, baseRegistry: registry, over: withAlias, zones: [zone], settings: settings),
            "a zone record refers to the changed service")
        // The global zone is also a service zone: names stop belonging to one service.
        let overlapping = PipelineSettings(
            serviceZones: [PipelineFixture.name("clusterset.local.")],
            globalZone: PipelineFixture.name("clusterset.local."),
            ttl: 5, locality: LocalityFixture.a, allow: [IPNetwork("0.0.0.0/0")!])
        let overlappingFull = AnswerSnapshot.build(registry: registry, zones: [], settings: overlapping)
        XCTAssertNil(
            AnswerSnapshot.overlay(
                registry: next, baseRegistry: registry, over: overlappingFull, zones: [], settings: overlapping),
            "naming trees that overlap")
    }

    func testNamingTreesThatOverlapAreCompiledAfreshAndStillAnswerAlike() throws {
        // The global zone is also a service zone: api.svc.clusterset.local is both service `api` of namespace
        // `svc` (global naming) and the namespace name of services in `api`.
        let overlapping = PipelineSettings(
            serviceZones: [PipelineFixture.name("clusterset.local.")],
            globalZone: PipelineFixture.name("clusterset.local."),
            ttl: 5, locality: LocalityFixture.a, allow: [IPNetwork("0.0.0.0/0")!])
        var services =
            baseServices + [
                Service(
                    name: "api", namespace: "svc",
                    clusters: [ClusterExport(locality: LocalityFixture.b, addresses: [IPAddress("10.101.7.7")!])])
            ]
        let first = build(services, version: 1, settings: overlapping)
        let frontend = services.firstIndex { $0.name == "frontend" }!
        services[frontend].clusters[0].addresses = [IPAddress("10.100.0.77")!]
        let incremental = build(services, version: 2, previous: first, settings: overlapping)
        let scratch = build(services, version: 2, settings: overlapping)
        XCTAssertEqual(incremental.reusedNames, 0, "overlapping naming trees are never copied")
        var names = names([services])
        names += services.map { "\($0.name).\($0.namespace).clusterset.local" } + ["api.svc.clusterset.local"]
        try assertSameAnswers(incremental, scratch, names: names)
    }

    /// Services compiled one by one, each with only its own records at hand, answer as when every record of the
    /// registry is gathered first: the fixture's services, a headless one of 100 endpoints and one of 40 clusters
    /// among them, from three localities.
    func testServicesCompiledApartAnswerAsWhenCompiledTogether() throws {
        // And one whose names are found through an index (past 32), each name with records of two types.
        let pairs = Service(
            name: "pairs", namespace: "app", type: .headless,
            clusters: [
                ClusterExport(
                    locality: LocalityFixture.b,
                    endpoints: (0..<40).map {
                        Endpoint(
                            hostname: "pod-\($0)",
                            addresses: [IPAddress("10.104.0.\($0 + 1)")!, IPAddress("fd00:104::\($0 + 1)")!])
                    })
            ])
        let services = baseServices + [pairs]
        let apart = compile(services)
        let together = compile(services, apart: false)
        try assertSameAnswers(apart, together, names: names([services]))
        // Compiled apart, each service under each naming tree is a fragment (copied by the next build), but for
        // ns.dns.global, the global zone's NS host, which is compiled with the zone's names.
        XCTAssertEqual(apart.fragments.count, services.count * 3 - 1)
        XCTAssertGreaterThan(
            apart.fragments.bases.flatMap { apart.fragments.entries(ofTree: $0) }.reduce(0) { $0 + $1.nodes.count }, 300
        )
    }

    /// With the global zone over the reverse tree, service `2` of namespace `1` is `2.1.in-addr.arpa`, the empty
    /// non-terminal above the PTR name of its own address: one name, which compiling apart would make twice.
    func testAGlobalZoneOverTheReverseTreeIsCompiledTogether() throws {
        let overReverse = PipelineSettings(
            serviceZones: [PipelineFixture.name("supercluster.local.")],
            globalZone: PipelineFixture.name("in-addr.arpa."),
            ttl: 5, locality: LocalityFixture.a, allow: [IPNetwork("0.0.0.0/0")!])
        let services = [
            Service(
                name: "2", namespace: "1",
                clusters: [ClusterExport(locality: LocalityFixture.a, addresses: [IPAddress("1.2.3.4")!])])
        ]
        try assertSameAnswers(
            compile(services, settings: overReverse, zones: []),
            compile(services, apart: false, settings: overReverse, zones: []),
            names: names([services]) + ["2.1.in-addr.arpa", "1.in-addr.arpa", "in-addr.arpa"])
    }

    func testAZoneRecordPointingIntoAServiceKeepsItCompiledAfresh() throws {
        // docs CNAMEs to gateway in the fixture zone; make a service whose name a zone record points at.
        var zone = PipelineFixture.zone
        zone.records.append(
            ResourceRecord(
                name: PipelineFixture.name("alias.supercluster.local."), ttl: 60,
                data: .cname(PipelineFixture.name("backend.app.svc.supercluster.local."))))
        var services = PipelineFixture.services
        let first = AnswerSnapshot.build(
            registry: PipelineFixture.registry(services, version: 1), zones: [zone], settings: settings)
        // Another service changes; backend, which the zone's CNAME points at, does not.
        let frontend = services.firstIndex { $0.name == "frontend" }!
        services[frontend].clusters[0].addresses = [IPAddress("10.100.0.99")!]
        let incremental = AnswerSnapshot.build(
            registry: PipelineFixture.registry(services, version: 2), zones: [zone], settings: settings,
            previous: first)
        let scratch = AnswerSnapshot.build(
            registry: PipelineFixture.registry(services, version: 2), zones: [zone], settings: settings)
        try assertSameAnswers(incremental, scratch, names: ["alias.supercluster.local"] + names([services]))
        XCTAssertGreaterThan(incremental.reusedNames, 0, "the other services are still copied")
    }

    /// A service's names under the naming trees after its first share the first tree's answers: the same type
    /// entries and templates, the zone apart. An SRV name is compiled under each tree (its targets are written out
    /// in full), and so is every name of a service with a name too long for one of the trees. A build copying
    /// from the previous one shares as that one did, and all of it answers as when every record is gathered
    /// together.
    func testNamesUnderLaterTreesShareTheFirstTreesAnswers() throws {
        // A fourth tree, svc.ZZZ.example (74 octets): the host name below is 202 octets under any tree, so it
        // fits under the other three and not under this one.
        var settings = self.settings
        let longZone = String(repeating: "z", count: 60) + ".example"
        settings.serviceZones.append(try DNSName(longZone))
        XCTAssertEqual(AnswerCompiler.namingTrees(settings).count, 4)
        let long = Service(
            name: String(repeating: "n", count: 63), namespace: String(repeating: "s", count: 63), type: .headless,
            clusters: [
                ClusterExport(
                    locality: LocalityFixture.b,
                    endpoints: [
                        Endpoint(hostname: String(repeating: "h", count: 63), addresses: [IPAddress("10.105.0.1")!])
                    ])
            ])
        let services = (baseServices + [long]).sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
        let shared = compile(services, settings: settings)
        let copied = compile(services, version: 2, previous: shared, settings: settings)
        XCTAssertGreaterThan(copied.reusedNames, shared.nameCount / 2, "the second build copies")
        let bases = ["svc.supercluster.local", "svc.clusterset.local", "global", "svc.\(longZone)"]
        func node(_ snapshot: AnswerSnapshot, _ name: String) throws -> AnswerSnapshot.Node {
            let index = try XCTUnwrap(snapshot.table.lookup(ArraySlice(try DNSName(name).wire)), name)
            return snapshot.nodes[index]
        }
        for (snapshot, what) in [(shared, "built"), (copied, "copied")] {
            for prefix in ["frontend.app", "cluster-a.db.app", "db-1.cluster-a.db.app", "db.app"] {
                let nodes = try bases.map { try node(snapshot, "\(prefix).\($0)") }
                XCTAssertGreaterThan(nodes[0].typeCount, 0)
                for other in nodes.dropFirst() {
                    XCTAssertTrue(other.sharesAnswers(with: nodes[0]), "\(what): \(prefix) shares its answers")
                }
                XCTAssertEqual(Set(nodes.map(\.zone)).count, 4, "\(what): \(prefix) is in each tree's zone")
            }
            for prefix in ["_http._tcp.frontend.app", "_postgres._tcp.db.app"] {
                let nodes = try bases.map { try node(snapshot, "\(prefix).\($0)") }
                XCTAssertEqual(Set(nodes.map(\.firstType)).count, 4, "\(what): \(prefix) is compiled under each")
            }
            let root = "\(long.name).\(long.namespace)"
            _ = try node(snapshot, "\(String(repeating: "h", count: 63)).cluster-b.\(root).global")
            let longNodes = try bases.map { try node(snapshot, "\(root).\($0)") }
            XCTAssertEqual(
                Set(longNodes.map(\.firstType)).count, 4, "\(what): a service with a name too long shares nothing")
        }
        XCTAssertEqual(copied.types.codes.count, shared.types.codes.count, "the copy shares as the original")
        XCTAssertEqual(copied.templates.count, shared.templates.count)

        // Every name under every tree answers as when compiled together.
        let together = compile(services, apart: false, settings: settings)
        XCTAssertLessThan(shared.types.codes.count, together.types.codes.count * 2 / 3)
        var names = names([services])
        // The fourth tree's names, those DNS can hold.
        names += names.filter { $0.hasSuffix(".svc.supercluster.local") }.map {
            String($0.dropLast("svc.supercluster.local".count)) + "svc." + longZone
        }.filter { (try? DNSName($0)) != nil }
        try assertSameAnswers(shared, together, names: names)
        try assertSameAnswers(copied, compile(services, apart: false, version: 2, settings: settings), names: names)
    }

    /// An answer that fits in a TCP response (65,535 octets) under a naming tree with a short name and not under
    /// one with a longer name is not shared between them, whichever comes first: 4,093 addresses on a headless
    /// service's cluster name make 65,529 octets with its question under `global` and 65,545 under
    /// `svc.supercluster.local`.
    func testAnAnswerTooBigForOneTreeOnlyIsCompiledUnderEach() throws {
        let big = Service(
            name: "big", namespace: "app", type: .headless,
            clusters: [
                ClusterExport(
                    locality: LocalityFixture.a,
                    endpoints: (0..<4_093).map {
                        Endpoint(hostname: "p\($0)", addresses: [IPAddress("10.110.\($0 / 250).\($0 % 250 + 1)")!])
                    })
            ])
        let services = (baseServices + [big]).sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
        // The first tree's name the longer (the default zones), and the shorter: svc.x, then a global zone as long
        // as svc.supercluster.local.
        var shortFirst = settings
        shortFirst.serviceZones = [try DNSName("x")]
        shortFirst.globalZone = try DNSName("svc.supercluster.local")
        let cases: [(PipelineSettings, [(base: String, fits: Bool)])] = [
            (settings, [("svc.supercluster.local", false), ("svc.clusterset.local", false), ("global", true)]),
            (shortFirst, [("svc.x", true), ("svc.supercluster.local", false)]),
        ]
        let client = ClientContext(address: ClientContext.from(sources[0]).address, transport: .tcp)
        for (settings, trees) in cases {
            let apart = compile(services, settings: settings)
            let together = compile(services, apart: false, settings: settings)
            // Not shared: compiled under each tree. (Where the first tree's name is the shorter, the query path's
            // own cut at 65,535 octets would make the same bytes, but no rule says it must for every answer.)
            let nodes = try trees.map { tree in
                let key = ArraySlice(try DNSName("cluster-a.big.app.\(tree.base)").wire)
                return apart.nodes[try XCTUnwrap(apart.table.lookup(key))]
            }
            XCTAssertFalse(nodes[1].sharesAnswers(with: nodes[0]), "\(trees[1].base) compiled on its own")
            for (base, fits) in trees {
                let name = try DNSName("cluster-a.big.app.\(base)")
                let query = Message(header: Header(id: 7), questions: [Question(name: name, type: .a)]).serialized()
                let left = try XCTUnwrap(QueryProcessor(snapshot: apart, seed: 9).process(query, client: client))
                let right = try XCTUnwrap(QueryProcessor(snapshot: together, seed: 9).process(query, client: client))
                XCTAssertEqual(left, right, "\(name) over TCP")
                XCTAssertEqual(try Message(parsing: right).answers.count, fits ? 4_093 : 0, "\(name): whole or TC")
            }
        }
    }
}
