import DNSPipeline
import DNSWire
import ServiceRegistry
import XCTest

/// The weighted rotation inside a tier (DESIGN.md section 3): over many queries each export leads its tier in
/// proportion to its weight, the tier keeps its cyclic order, and `maxAnswers` cuts after ordering.
final class WeightedRotationTests: XCTestCase {
    private typealias L = LocalityFixture
    private static let queries = 10_000
    private static let own = Locality(cluster: "c0", region: "r1", zone: "r1a")

    /// lead: three exports share the first tier (same zone; c0 exports nothing), one is elsewhere.
    /// second: c0's own export, then three weighted exports of the same region, then two of other regions.
    /// pods: a headless service whose three clusters share the first tier, with 2, 1 and 3 ready endpoints.
    private static let services = L.services(
        """
        services:
          - name: lead
            namespace: app
            clusters:
              - { cluster: c1, region: r1, zone: r1a, addresses: [10.210.0.1, "fd00:210::1"], weight: 100 }
              - { cluster: c2, region: r1, zone: r1a, addresses: [10.210.0.2, "fd00:210::2"], weight: 200 }
              - { cluster: c3, region: r1, zone: r1a, addresses: [10.210.0.3, "fd00:210::3"], weight: 700 }
              - { cluster: c9, region: r2, zone: r2a, addresses: [10.210.0.9, "fd00:210::9"] }
          - name: second
            namespace: app
            clusters:
              - { cluster: c0, region: r1, zone: r1a, addresses: [10.211.0.1] }
              - { cluster: c4, region: r1, zone: r1b, addresses: [10.211.0.4], weight: 100 }
              - { cluster: c5, region: r1, zone: r1c, addresses: [10.211.0.5], weight: 300 }
              - { cluster: c6, region: r1, addresses: [10.211.0.6], weight: 600 }
              - { cluster: c7, region: r2, addresses: [10.211.0.7], weight: 50 }
              - { cluster: c8, region: r3, addresses: [10.211.0.8], weight: 50 }
          - name: pods
            namespace: app
            type: Headless
            clusters:
              - cluster: c1
                region: r1
                zone: r1a
                endpoints:
                  - { hostname: p1a, addresses: [10.212.1.1] }
                  - { hostname: p1b, addresses: [10.212.1.2] }
                  - { hostname: p1c, addresses: [10.212.1.3], ready: false }
              - cluster: c2
                region: r1
                zone: r1a
                endpoints: [{ hostname: p2a, addresses: [10.212.2.1] }]
              - cluster: c3
                region: r1
                zone: r1a
                weight: 200
                endpoints:
                  - { hostname: p3a, addresses: [10.212.3.1] }
                  - { hostname: p3b, addresses: [10.212.3.2] }
                  - { hostname: p3c, addresses: [10.212.3.3] }
        """)

    private static let leadTier = ["10.210.0.1", "10.210.0.2", "10.210.0.3"]
    private static let leadWeights = ["10.210.0.1": 100.0, "10.210.0.2": 200, "10.210.0.3": 700]

    private func processor(maxAnswers: Int = 0, seed: UInt64 = 42) -> QueryProcessor {
        L.processor(L.settings(locality: Self.own, maxAnswers: maxAnswers), services: Self.services, seed: seed)
    }

    func testEachExportLeadsInProportionToItsWeight() {
        let processor = processor()
        let cases: [(name: String, tier: [String], rest: [String])] = [
            ("lead.app.svc.supercluster.local", Self.leadTier, ["10.210.0.9"]),
            ("lead.app.svc.clusterset.local", Self.leadTier, ["10.210.0.9"]),
            ("lead.app.global", Self.leadTier, ["10.210.0.9"]),
        ]
        for row in cases {
            let shares = L.leadShares(Self.queries, of: processor, row.name) { answers in
                // Always a rotation of the tier, in its cyclic order, and the lower tier after it.
                XCTAssertTrue(isRotation(Array(answers.prefix(3)), of: row.tier), "\(answers)")
                XCTAssertEqual(Array(answers.dropFirst(3)), row.rest)
            }
            print("lead shares of \(row.name) (weights 100/200/700): \(shares.sorted { $0.key < $1.key })")
            assertShares(shares, weights: Self.leadWeights)
        }
    }

    func testIPv6RotatesByWeightToo() throws {
        let processor = processor()
        var counts: [String: Int] = [:]
        let wire = L.query("lead.app.svc.supercluster.local", .aaaa)
        let tier = ["fd00:210::1", "fd00:210::2", "fd00:210::3"]
        for _ in 0..<Self.queries {
            let response = try Message(parsing: XCTUnwrap(processor.process(wire, client: .pod)))
            let answers = response.answers.map(\.data.description)
            XCTAssertTrue(isRotation(Array(answers.prefix(3)), of: tier), "\(answers)")
            XCTAssertEqual(answers.last, "fd00:210::9")
            counts[answers[0], default: 0] += 1
        }
        let shares = counts.mapValues { Double($0) / Double(Self.queries) }
        assertShares(shares, weights: ["fd00:210::1": 100, "fd00:210::2": 200, "fd00:210::3": 700])
    }

    /// The weights of a tier that is not the first: the lead of tier 2's block, and tier 3's after it.
    func testWeightsInALaterTier() {
        let processor = processor()
        let name = "second.app.svc.supercluster.local"
        let tier2 = ["10.211.0.4", "10.211.0.5", "10.211.0.6"]
        let tier3 = ["10.211.0.7", "10.211.0.8"]
        let check: ([String]) -> Void = { answers in
            XCTAssertEqual(answers.first, "10.211.0.1", "own cluster first: \(answers)")
            XCTAssertTrue(isRotation(Array(answers.dropFirst().prefix(3)), of: tier2), "\(answers)")
            XCTAssertTrue(isRotation(Array(answers.dropFirst(4)), of: tier3), "\(answers)")
        }
        let second = L.leadShares(Self.queries, of: processor, name, position: 1, check: check)
        print("lead shares of tier 2 (weights 100/300/600): \(second.sorted { $0.key < $1.key })")
        assertShares(second, weights: ["10.211.0.4": 100, "10.211.0.5": 300, "10.211.0.6": 600])
        let third = L.leadShares(Self.queries, of: processor, name, position: 4, check: check)
        assertShares(third, weights: ["10.211.0.7": 50, "10.211.0.8": 50])
    }

    /// Headless: a cluster's endpoints are one unit, so they rotate together and stay together, in order.
    func testHeadlessRotatesByCluster() {
        let all = ["10.212.1.1", "10.212.1.2", "10.212.2.1", "10.212.3.1", "10.212.3.2", "10.212.3.3"]
        let allowed = [all, Array(all[2...] + all[..<2]), Array(all[3...] + all[..<3])]
        let shares = L.leadShares(Self.queries, of: processor(), "pods.app.svc.supercluster.local") { answers in
            XCTAssertTrue(allowed.contains(answers), "a cluster's endpoints split or reordered: \(answers)")
        }
        print("lead shares of headless clusters (weights 100/100/200): \(shares.sorted { $0.key < $1.key })")
        assertShares(shares, weights: ["10.212.1.1": 100, "10.212.2.1": 100, "10.212.3.1": 200])
    }

    /// `maxAnswers: 1` is Lighthouse's one-cluster answer, and still spreads by weight over the first tier.
    func testMaxAnswersOneSpreadsByWeight() {
        let shares = L.leadShares(Self.queries, of: processor(maxAnswers: 1), "lead.app.svc.supercluster.local") {
            XCTAssertEqual($0.count, 1, "\($0)")
        }
        print("lead shares with maxAnswers 1: \(shares.sorted { $0.key < $1.key })")
        assertShares(shares, weights: Self.leadWeights)
    }

    /// The cut comes after ordering: a lower tier, rotating or not, never displaces the first.
    func testMaxAnswersTruncatesAfterOrdering() {
        let cases: [(maxAnswers: Int, name: String, check: ([String]) -> Bool, line: UInt)] = [
            (1, "second.app.svc.supercluster.local", { $0 == ["10.211.0.1"] }, #line),
            (2, "lead.app.svc.supercluster.local", { isCyclicRun($0, of: Self.leadTier, count: 2) }, #line),
            (3, "lead.app.svc.supercluster.local", { isRotation($0, of: Self.leadTier) }, #line),
            (
                3, "second.app.svc.supercluster.local",
                {
                    $0.first == "10.211.0.1"
                        && isCyclicRun(Array($0.dropFirst()), of: ["10.211.0.4", "10.211.0.5", "10.211.0.6"], count: 2)
                },
                #line
            ),
            (
                1, "pods.app.svc.supercluster.local",
                { ["10.212.1.1", "10.212.2.1", "10.212.3.1"].contains($0[0]) && $0.count == 1 }, #line
            ),
            (10, "lead.app.svc.supercluster.local", { $0.count == 4 && $0.last == "10.210.0.9" }, #line),
        ]
        for row in cases {
            let processor = processor(maxAnswers: row.maxAnswers)
            var leaders = Set<String>()
            for _ in 0..<500 {
                let answers = L.answers(processor, row.name, line: row.line)
                XCTAssertTrue(row.check(answers), "maxAnswers \(row.maxAnswers): \(answers)", line: row.line)
                leaders.formUnion(answers.prefix(1))
            }
            XCTAssertFalse(leaders.isEmpty, line: row.line)
        }
    }

    /// Tiers that do not rotate are cut when compiled: the fixture's backend from cluster-a, and from cluster-c
    /// (whose second tier of two exports rotates).
    func testMaxAnswersOnFixedAndRotatingLocalities() {
        let processor = L.processor(L.settings(clients: [("10.2.0.0/16", L.c)], maxAnswers: 2))
        for _ in 0..<50 {
            XCTAssertEqual(L.answers(processor, L.backend), [L.backendA, L.backendB])
            let fromC = L.answers(processor, L.backend, client: .from("10.2.0.1"))
            XCTAssertEqual(fromC.count, 2)
            XCTAssertEqual(fromC.first, L.backendC)
        }
    }

    /// The rotation is a pure function of the seed: the same seed repeats, another one differs.
    func testAFixedSeedRepeats() {
        func sequence(_ seed: UInt64) -> [String] {
            let processor = processor(seed: seed)
            return (0..<64).map { _ in L.answers(processor, "lead.app.svc.supercluster.local")[0] }
        }
        XCTAssertEqual(sequence(7), sequence(7))
        XCTAssertNotEqual(sequence(7), sequence(8))
    }
}

/// True when `run` is `count` consecutive members of `cycle`, in its cyclic order.
func isCyclicRun(_ run: [String], of cycle: [String], count: Int) -> Bool {
    guard run.count == count, let start = run.first.flatMap({ cycle.firstIndex(of: $0) }) else { return false }
    return run == (0..<count).map { cycle[(start + $0) % cycle.count] }
}
