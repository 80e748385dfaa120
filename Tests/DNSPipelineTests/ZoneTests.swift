import DNSPipeline
import DNSWire
import XCTest

/// The apex and static records of `zones/`, the synthesized zones, and `dns-version` (DESIGN.md 1).
final class ZoneTests: XCTestCase {
    private typealias SOA = PipelineFixture.SOA
    private static let soa =
        "supercluster.local. 60 IN SOA ns1.supercluster.local. hostmaster.supercluster.local. "
        + "2024010101 7200 3600 1209600 30"

    func testApex() {
        assertCases([
            DNSCase("supercluster.local", .soa, answer: [Self.soa]),
            DNSCase(
                "supercluster.local", .ns, answer: ["supercluster.local. 60 IN NS ns1.supercluster.local."],
                additional: ["ns1.supercluster.local. 60 IN A 127.0.0.1"]),
            DNSCase("supercluster.local", .a, authority: [SOA.supercluster]),
            DNSCase("supercluster.local", .mx, authority: [SOA.supercluster]),
        ])
    }

    func testSynthesizedApex() {
        assertCases([
            DNSCase(
                "clusterset.local", .soa,
                answer: [
                    "clusterset.local. 5 IN SOA ns.dns.clusterset.local. hostmaster.clusterset.local. "
                        + "7 7200 1800 86400 5"
                ]),
            DNSCase("clusterset.local", .ns, answer: ["clusterset.local. 5 IN NS ns.dns.clusterset.local."]),
            DNSCase("global", .soa, answer: ["global. 5 IN SOA ns.dns.global. hostmaster.global. 7 7200 1800 86400 5"]),
            DNSCase("global", .ns, answer: ["global. 5 IN NS ns.dns.global."]),
            DNSCase("clusterset.local", .txt, authority: [SOA.clusterset]),
        ])
    }

    func testStaticRecords() {
        assertCases([
            DNSCase("ns1.supercluster.local", .a, answer: ["ns1.supercluster.local. 60 IN A 127.0.0.1"]),
            DNSCase("gateway.supercluster.local", .a, answer: ["gateway.supercluster.local. 60 IN A 10.0.0.1"]),
            DNSCase(
                "info.supercluster.local", .txt, answer: ["info.supercluster.local. 60 IN TXT \"scdns test zone\""]),
            DNSCase("gateway.supercluster.local", .mx, authority: [SOA.supercluster]),
            DNSCase("gateway.supercluster.local", .aaaa, authority: [SOA.supercluster]),
            DNSCase("info.supercluster.local", .a, authority: [SOA.supercluster]),
            DNSCase("www.supercluster.local", .a, rcode: .nxDomain, authority: [SOA.supercluster]),
        ])
    }

    func testCNAME() {
        let cname = "docs.supercluster.local. 60 IN CNAME gateway.supercluster.local."
        assertCases([
            DNSCase("docs.supercluster.local", .a, answer: [cname, "gateway.supercluster.local. 60 IN A 10.0.0.1"]),
            DNSCase("docs.supercluster.local", .cname, answer: [cname]),
            // A type the target lacks: the CNAME alone (RFC 1034 3.6.2), for the type that was asked.
            DNSCase("docs.supercluster.local", .mx, answer: [cname]),
            DNSCase("docs.supercluster.local", .aaaa, answer: [cname]),
        ])
    }

    func testDNSVersion() {
        assertCases([
            DNSCase(
                "dns-version.supercluster.local", .txt, answer: ["dns-version.supercluster.local. 5 IN TXT \"1.0.0\""]),
            DNSCase("dns-version.clusterset.local", .txt, answer: ["dns-version.clusterset.local. 5 IN TXT \"1.0.0\""]),
            DNSCase("dns-version.supercluster.local", .a, authority: [SOA.supercluster]),
        ])
    }
}
