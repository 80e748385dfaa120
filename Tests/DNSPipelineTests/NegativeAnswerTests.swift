import DNSPipeline
import DNSWire
import XCTest

/// RFC 2308 and RFC 8020 negative answers, and REFUSED outside every zone (DESIGN.md 1).
final class NegativeAnswerTests: XCTestCase {
    private typealias SOA = PipelineFixture.SOA

    func testNXDOMAIN() {
        assertCases([
            DNSCase("nope.supercluster.local", .a, rcode: .nxDomain, authority: [SOA.supercluster]),
            DNSCase("missing.app.svc.supercluster.local", .a, rcode: .nxDomain, authority: [SOA.supercluster]),
            DNSCase("backend.other.svc.supercluster.local", .a, rcode: .nxDomain, authority: [SOA.supercluster]),
            DNSCase("missing.app.svc.clusterset.local", .aaaa, rcode: .nxDomain, authority: [SOA.clusterset]),
            DNSCase("missing.app.global", .a, rcode: .nxDomain, authority: [SOA.global]),
            // Below a name that does not exist (RFC 8020).
            DNSCase("x.nope.app.svc.supercluster.local", .a, rcode: .nxDomain, authority: [SOA.supercluster]),
            DNSCase("a.b.nope.supercluster.local", .txt, rcode: .nxDomain, authority: [SOA.supercluster]),
            // Below an existing name that has no such child.
            DNSCase("www.backend.app.svc.supercluster.local", .a, rcode: .nxDomain, authority: [SOA.supercluster]),
            DNSCase("x.gateway.supercluster.local", .a, rcode: .nxDomain, authority: [SOA.supercluster]),
        ])
    }

    func testNODATA() {
        assertCases([
            DNSCase("backend.app.svc.supercluster.local", .mx, authority: [SOA.supercluster]),
            DNSCase("backend.app.svc.supercluster.local", .txt, authority: [SOA.supercluster]),
            DNSCase("db.app.svc.supercluster.local", .mx, authority: [SOA.supercluster]),
            DNSCase("backend.app.global", .mx, authority: [SOA.global]),
            DNSCase("api.app.svc.clusterset.local", .mx, authority: [SOA.clusterset]),
            DNSCase("backend.app.svc.supercluster.local", .ptr, authority: [SOA.supercluster]),
            DNSCase("backend.app.svc.supercluster.local", RecordType(65), authority: [SOA.supercluster]),
        ])
    }

    func testEmptyNonTerminalsExist() {
        assertCases([
            DNSCase("app.svc.supercluster.local", .a, authority: [SOA.supercluster]),
            DNSCase("svc.supercluster.local", .a, authority: [SOA.supercluster]),
            DNSCase("svc.supercluster.local", .ns, authority: [SOA.supercluster]),
            DNSCase("app.svc.clusterset.local", .aaaa, authority: [SOA.clusterset]),
            DNSCase("svc.clusterset.local", .a, authority: [SOA.clusterset]),
            DNSCase("app.global", .a, authority: [SOA.global]),
            DNSCase("_tcp.db.app.svc.supercluster.local", .srv, authority: [SOA.supercluster]),
            // QTYPE ANY at a name with no data is NODATA too, SOA included.
            DNSCase("app.svc.supercluster.local", .any, authority: [SOA.supercluster]),
        ])
    }

    func testAnyAtANameWithData() {
        assertCases([
            DNSCase(
                "frontend.app.svc.supercluster.local", .any,
                answer: addresses("frontend.app.svc.supercluster.local.", ["10.100.0.7", "fd00:100::7"]))
        ])
    }

    func testRefused() {
        assertCases([
            DNSCase("example.com", .a, rcode: .refused, aa: false),
            DNSCase("local", .soa, rcode: .refused, aa: false),
            DNSCase("supercluster.localhost", .a, rcode: .refused, aa: false),
            DNSCase("xsupercluster.local", .a, rcode: .refused, aa: false),
            // CoreDNS's forward health check: answered at once, never dropped.
            DNSCase(".", .ns, rcode: .refused, aa: false),
            DNSCase("version.bind", .txt, qclass: .ch, rcode: .refused, aa: false),
            DNSCase("backend.app.svc.supercluster.local", .a, qclass: .ch, rcode: .refused, aa: false),
            DNSCase("backend.app.svc.supercluster.local", .a, qclass: .any, rcode: .refused, aa: false),
            DNSCase("supercluster.local", .axfr, rcode: .refused, aa: false),
            DNSCase("supercluster.local", .ixfr, rcode: .refused, aa: false),
        ])
    }

    func testMetaQueryTypes() {
        assertCases([
            DNSCase("backend.app.svc.supercluster.local", RecordType(250), rcode: .notImp, aa: false),  // TSIG
            DNSCase("backend.app.svc.supercluster.local", RecordType(249), rcode: .notImp, aa: false),  // TKEY
            DNSCase("backend.app.svc.supercluster.local", .opt, rcode: .formErr, aa: false),
        ])
    }
}
