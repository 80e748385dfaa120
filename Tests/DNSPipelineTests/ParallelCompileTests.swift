import DNSWire
import ServiceRegistry
import XCTest

@testable import DNSPipeline

/// Services compiled apart on several threads, in runs merged back in order, make the very snapshot one thread
/// makes: the same names at the same nodes, the same templates, per-locality variants, precompiled orderings and
/// rotation plans at the same indices.
final class ParallelCompileTests: XCTestCase {
    let settings = LocalityFixture.settings(
        clients: [("10.245.0.0/16", LocalityFixture.b), ("10.246.0.0/16", LocalityFixture.c)])

    /// The fixture's services (a vip, headless ones, big ones that rotate per query) and 300 more of every kind:
    /// two to four clusters weighted so their orderings are precompiled or rotate per query, a vip, headless
    /// with and without a ready endpoint (a service with no names at all).
    var services: [Service] {
        let localities = [LocalityFixture.a, LocalityFixture.b, LocalityFixture.c]
        let generated = (0..<300).map { index -> Service in
            let clusters = (0..<(2 + index % 3)).map { cluster in
                ClusterExport(
                    locality: localities[cluster % 3],
                    addresses: (0..<(1 + (index + cluster) % 6)).map {
                        IPAddress("10.60.\(index % 250).\(cluster * 20 + $0 + 1)")!
                    },
                    weight: UInt32(50 * (1 + cluster)), healthy: (index + cluster) % 7 != 0)
            }
            switch index % 5 {
            case 0:
                return Service(
                    name: "vip\(index)", namespace: "ns\(index % 7)", vip: IPAddress("10.96.1.\(index % 250 + 1)"),
                    ports: [ServicePort(name: "http", port: 80)], clusters: clusters)
            case 1:
                let ready = index % 10 != 1
                return Service(
                    name: "pods\(index)", namespace: "ns\(index % 7)", type: .headless,
                    ports: [ServicePort(name: "grpc", port: 9000)],
                    clusters: clusters.map {
                        var export = $0
                        export.endpoints = $0.addresses.enumerated().map {
                            Endpoint(hostname: "p\($0.offset)", addresses: [$0.element], ready: ready)
                        }
                        export.addresses = []
                        return export
                    })
            default:
                return Service(
                    name: "svc\(index)", namespace: "ns\(index % 7)", ports: [ServicePort(name: "http", port: 80)],
                    clusters: clusters)
            }
        }
        return (PipelineFixture.services + generated).sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
    }

    func compile(
        _ services: [Service], version: UInt64, threads: Int, previous: AnswerSnapshot? = nil
    ) -> AnswerSnapshot {
        var compiler = AnswerCompiler(
            registry: PipelineFixture.registry(services, version: version), zoneFiles: [PipelineFixture.zone],
            settings: settings, previous: previous)
        compiler.threads = threads
        // Runs of a few services, so the merge moves indices of every kind many times over.
        compiler.parallelMinimum = 1
        compiler.runLength = 7
        return compiler.compile()
    }

    /// Fails naming the first entry where two arrays differ (rather than printing arrays of thousands).
    func assertSame<Element: Equatable>(
        _ left: [Element], _ right: [Element], _ what: String, file: StaticString, line: UInt
    ) {
        guard left != right else { return }
        let first = zip(left, right).enumerated().first { $0.element.0 != $0.element.1 }
        XCTFail(
            "\(what): \(left.count) and \(right.count) entries, "
                + (first.map { "first differing at \($0.offset): \($0.element.0) against \($0.element.1)" }
                    ?? "one a prefix of the other"),
            file: file, line: line)
    }

    /// Every array of the two snapshots, entry for entry.
    func assertIdentical(
        _ left: AnswerSnapshot, _ right: AnswerSnapshot, file: StaticString = #filePath, line: UInt = #line
    ) {
        func same<Element: Equatable>(_ a: [Element], _ b: [Element], _ what: String) {
            assertSame(a, b, what, file: file, line: line)
        }
        same(
            left.table.keysByValue(count: left.nodes.count).map(Array.init),
            right.table.keysByValue(count: right.nodes.count).map(Array.init), "each node's name")
        func fields(_ node: AnswerSnapshot.Node) -> [Int] {
            [
                Int(node.zone), Int(node.firstType), Int(node.typeCount), Int(node.zoneSlot), Int(node.anyTemplate),
                Int(node.fallbackTemplate),
            ]
        }
        same(left.nodes.map(fields), right.nodes.map(fields), "nodes")
        same(left.types.codes, right.types.codes, "type codes")
        same(left.types.templates, right.types.templates, "type templates")
        same(left.types.variants, right.types.variants, "variants")
        same(left.types.variantTemplates, right.types.variantTemplates, "variant templates")
        same(left.types.variantPlans, right.types.variantPlans, "variant plans")
        same(left.types.variantChoices, right.types.variantChoices, "variant choices")
        func templates(_ snapshot: AnswerSnapshot) -> [[UInt8]] {
            (0..<snapshot.templates.count).map { snapshot.templates.withTemplate($0) { Array($0) } }
        }
        same(templates(left), templates(right), "templates")
        func choices(_ table: ChoiceTable) -> [[UInt64]] {
            (0..<table.groups.count).map { group in
                table.options(Int32(group)).flatMap { [UInt64($0.template), $0.weight] }
            }
        }
        same(choices(left.types.choices), choices(right.types.choices), "choice groups")
        func plans(_ rotations: RotationPlans) -> [[Int]] {
            rotations.plans.map {
                [Int($0.recordSize), Int($0.recordCount), Int($0.maxAnswers), Int($0.firstTier), Int($0.tierCount)]
            }
                + rotations.tiers.map {
                    [
                        Int($0.firstRecord), Int($0.recordCount), Int($0.firstUnit), Int($0.unitCount),
                        Int($0.totalWeight),
                    ]
                } + rotations.units.map { [Int($0.recordCount), Int($0.cumulativeWeight)] }
        }
        same(plans(left.rotations), plans(right.rotations), "rotation plans, tiers and units")
        func reverseTargets(_ snapshot: AnswerSnapshot) -> [String] {
            (0..<snapshot.nodes.count).map {
                snapshot.registryPTRTargets(ofNode: Int32($0)).map { "\($0)" } ?? "-"
            }
        }
        same(reverseTargets(left), reverseTargets(right), "each PTR name's targets")
        func fragments(_ snapshot: AnswerSnapshot) -> [String] {
            snapshot.fragments.bases.flatMap { tree in
                snapshot.fragments.entries(ofTree: tree).map {
                    "\(tree) \($0.service.namespace)/\($0.service.name) \($0.nodes)"
                }
            }
        }
        same(fragments(left), fragments(right), "each service's nodes")
    }

    func testSeveralThreadsMakeTheSnapshotOneThreadMakes() {
        let services = services
        let one = compile(services, version: 1, threads: 1)
        let four = compile(services, version: 1, threads: 4)
        // Every kind of entry is there to be moved.
        XCTAssertGreaterThan(one.types.choices.groups.count, 50)
        XCTAssertGreaterThan(one.rotations.plans.count, 2)
        XCTAssertGreaterThan(one.types.variantTemplates.count, 300)
        XCTAssertGreaterThan(one.fragments.count, 900)
        XCTAssertGreaterThan(one.reverseFragments.count, 1_000)
        assertIdentical(four, one)
    }

    /// A build reusing a previous snapshot copies unchanged services after the ones compiled apart, whose nodes
    /// then come from several threads: still the single thread's snapshot.
    func testSeveralThreadsReusingAPreviousSnapshotMakeWhatOneThreadMakes() {
        var services = services
        let first = compile(services, version: 1, threads: 1)
        for index in stride(from: 3, to: services.count, by: 4) {
            services[index].clusters[0].weight += 1
        }
        let one = compile(services, version: 2, threads: 1, previous: first)
        let two = compile(services, version: 2, threads: 2, previous: first)
        XCTAssertGreaterThan(one.reusedNames, 1_000)
        assertIdentical(two, one)
    }
}
