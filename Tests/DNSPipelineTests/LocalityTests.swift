import DNSWire
import ServiceRegistry
import XCTest

@testable import DNSPipeline

/// The tiers of DESIGN.md section 3 (KEP-5939's): same cluster, same zone, same region, the rest. Empty zone and
/// region names never match, and a client locality need not be one that exports anything.
final class LocalityTests: XCTestCase {
    private static let name = "spread.app.svc.supercluster.local"

    /// One export per place: c0 and c1 share zone r1a, c2 is r1's other zone, c3 another region, c4 says nothing.
    private static let services = LocalityFixture.services(
        """
        services:
          - name: spread
            namespace: app
            clusters:
              - { cluster: c0, region: r1, zone: r1a, addresses: [10.200.0.1] }
              - { cluster: c1, region: r1, zone: r1a, addresses: [10.200.0.2] }
              - { cluster: c2, region: r1, zone: r1b, addresses: [10.200.0.3] }
              - { cluster: c3, region: r2, zone: r2a, addresses: [10.200.0.4] }
              - { cluster: c4, addresses: [10.200.0.5] }
        """)

    /// The tier function itself, rule by rule.
    func testTierRules() {
        let client = Locality(cluster: "c0", region: "r1", zone: "r1a")
        let cases: [(client: Locality, export: Locality, tier: Int, why: String)] = [
            (client, client, 0, "same cluster"),
            (client, Locality(cluster: "c0", region: "r9", zone: "r9z"), 0, "the cluster decides, whatever it says"),
            (client, Locality(cluster: "c1", region: "r1", zone: "r1a"), 1, "same zone"),
            (client, Locality(cluster: "c2", region: "r1", zone: "r1b"), 2, "same region, other zone"),
            (client, Locality(cluster: "c2", region: "r1"), 2, "same region, export names no zone"),
            (client, Locality(cluster: "c3", region: "r2", zone: "r2a"), 3, "another region"),
            (
                client, Locality(cluster: "c3", region: "r2", zone: "r1a"), 3,
                "a zone name is only the same in its region"
            ),
            (client, Locality(cluster: "c4"), 3, "an export that names no place"),
            (
                Locality(cluster: "c9", region: "r1"), Locality(cluster: "c1", region: "r1"), 2,
                "empty zones never match"
            ),
            (Locality(cluster: "c9"), Locality(cluster: "c4"), 3, "empty zones and regions never match"),
            (
                Locality(cluster: "c9", zone: "z"), Locality(cluster: "c4", zone: "z"), 1,
                "a named zone, no region on either"
            ),
            (
                Locality(cluster: "c9", zone: "z"), Locality(cluster: "c4", region: "r1", zone: "z"), 3,
                "only one says r1"
            ),
            (Locality(cluster: ""), Locality(cluster: ""), 3, "an empty cluster never matches"),
        ]
        for row in cases {
            XCTAssertEqual(ClusterOrdering.tier(of: row.export, from: row.client), row.tier, row.why)
        }
    }

    /// The same rules end to end: the answer comes in tiers, nearest first; exports that share a tier rotate, so
    /// a tier is compared as a set, and its place in the answer as a block.
    func testAnswersComeInTiers() {
        let cases: [(client: Locality, tiers: [[String]], line: UInt)] = [
            (
                Locality(cluster: "c0", region: "r1", zone: "r1a"),
                [["10.200.0.1"], ["10.200.0.2"], ["10.200.0.3"], ["10.200.0.4", "10.200.0.5"]], #line
            ),
            (
                Locality(cluster: "c1", region: "r1", zone: "r1a"),
                [["10.200.0.2"], ["10.200.0.1"], ["10.200.0.3"], ["10.200.0.4", "10.200.0.5"]], #line
            ),
            (
                Locality(cluster: "c2", region: "r1", zone: "r1b"),
                [["10.200.0.3"], ["10.200.0.1", "10.200.0.2"], ["10.200.0.4", "10.200.0.5"]], #line
            ),
            (
                Locality(cluster: "c3", region: "r2", zone: "r2a"),
                [["10.200.0.4"], ["10.200.0.1", "10.200.0.2", "10.200.0.3", "10.200.0.5"]], #line
            ),
            // A client whose cluster exports nothing still gets its zone, then its region, first.
            (
                Locality(cluster: "cx", region: "r1", zone: "r1b"),
                [["10.200.0.3"], ["10.200.0.1", "10.200.0.2"], ["10.200.0.4", "10.200.0.5"]], #line
            ),
            (
                Locality(cluster: "cx", region: "r1", zone: "r1a"),
                [["10.200.0.1", "10.200.0.2"], ["10.200.0.3"], ["10.200.0.4", "10.200.0.5"]], #line
            ),
            // No zone: the region's three exports share one tier, not split by zone.
            (
                Locality(cluster: "cx", region: "r1"),
                [["10.200.0.1", "10.200.0.2", "10.200.0.3"], ["10.200.0.4", "10.200.0.5"]], #line
            ),
            // Nowhere known, and c4's empty region does not match an empty region: one tier of everything.
            (
                Locality(cluster: "cx"),
                [["10.200.0.1", "10.200.0.2", "10.200.0.3", "10.200.0.4", "10.200.0.5"]], #line
            ),
        ]
        for row in cases {
            let processor = LocalityFixture.processor(
                LocalityFixture.settings(locality: row.client), services: Self.services)
            var leaders = Set<String>()
            for _ in 0..<200 {
                let answers = LocalityFixture.answers(processor, Self.name, line: row.line)
                XCTAssertEqual(answers.count, 5, "\(row.client)", line: row.line)
                var rest = answers[...]
                for tier in row.tiers {
                    XCTAssertEqual(Set(rest.prefix(tier.count)), Set(tier), "\(row.client): \(answers)", line: row.line)
                    rest = rest.dropFirst(tier.count)
                }
                leaders.formUnion(answers.prefix(1))
            }
            // Every export of the first tier gets to lead.
            XCTAssertEqual(leaders, Set(row.tiers[0]), "\(row.client)", line: row.line)
        }
    }

    /// The same tiers reached through `clients:`: one snapshot answers each client locality its own way.
    func testEachClientLocalityGetsItsOwnOrder() {
        let processor = LocalityFixture.processor(
            LocalityFixture.settings(
                clients: [
                    ("10.1.0.0/16", Locality(cluster: "c1", region: "r1", zone: "r1a")),
                    ("10.3.0.0/16", Locality(cluster: "c3", region: "r2", zone: "r2a")),
                    ("10.9.0.0/16", Locality(cluster: "cx", region: "r1", zone: "r1b")),
                ],
                locality: Locality(cluster: "c0", region: "r1", zone: "r1a")),
            services: Self.services)
        let cases: [(client: String, lead: [String])] = [
            ("10.244.0.5", ["10.200.0.1", "10.200.0.2", "10.200.0.3"]),
            ("10.1.7.7", ["10.200.0.2", "10.200.0.1", "10.200.0.3"]),
            ("10.3.7.7", ["10.200.0.4"]),
            ("10.9.7.7", ["10.200.0.3"]),
        ]
        for row in cases {
            let answers = LocalityFixture.answers(processor, Self.name, client: .from(row.client))
            XCTAssertEqual(Array(answers.prefix(row.lead.count)), row.lead, row.client)
        }
    }
}
