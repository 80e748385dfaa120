import DNSWire
import XCTest

@testable import ZoneFile

/// DNSWire's presentation of every record against ldns's own, from the same parse. Two independent formatters
/// agreeing is evidence that both the wire conversion and DNSWire's text are right.
final class LDNSDifferentialTests: XCTestCase {
    private var fixture: ZoneFixture!

    override func setUpWithError() throws { fixture = try ZoneFixture() }
    override func tearDown() { fixture.remove() }

    /// Records of every type DNSWire models, with the corner cases of each presentation format.
    private static let records = """
        $ORIGIN diff.test.
        $TTL 300
        @           IN SOA  ns1 host\\.master ( 4294967295 0 1 2147483647 30 )
        @           IN NS   ns1
        @           IN NS   ns.elsewhere.test.
        @           IN MX   0 .
        @           IN MX   65535 mail
        a           IN A    0.0.0.0
        a           IN A    255.255.255.255
        a           IN A    192.0.2.1
        v6          IN AAAA ::
        v6          IN AAAA ::1
        v6          IN AAAA 1::
        v6          IN AAAA 2001:db8::
        v6          IN AAAA 2001:DB8:0:1:1:1:1:1
        v6          IN AAAA 1:0:0:2:0:0:0:3
        v6          IN AAAA 1:0:0:2:0:0:3:4
        v6          IN AAAA fe80::1:0:0:1
        v6          IN AAAA ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff
        v6          IN AAAA ::ffff:192.0.2.1
        alias       IN CNAME a
        1.2         IN PTR  a.diff.test.
        Mixed.Case  IN PTR  Target.Diff.Test.
        odd         IN PTR  w\\.x\\;\\(\\"\\\\\\$\\@.diff.test.
        _sip._udp   IN SRV  0 0 0 .
        _sip._udp   IN SRV  65535 65535 5060 sip
        t           IN TXT  ""
        t           IN TXT  "one" "two words" bare
        t           IN TXT  "semi;colon" "quote\\"d" "back\\\\slash" "tab\\009" "high\\200" "nul\\000"
        t           IN TXT  "@ $ ( ) . ~"
        x           IN TYPE65400 \\# 5 0001020304
        x           IN TYPE65401 \\# 0
        x           IN TYPE65402 \\# 3 ABCDEF
        """

    func testPresentationMatchesLDNS() throws {
        let file = try fixture.write("diff.test.zone", Self.records + "\n")
        let recordLines = Self.records.split(separator: "\n").filter { !$0.hasPrefix("$") }
        XCTAssertEqual(try assertPresentationMatchesLDNS(file: file, origin: "diff.test."), recordLines.count)
        for (file, origin, count) in [
            ("supercluster.local.zone", "supercluster.local.", 6), ("global.zone", "global.", 2),
        ] {
            let path = ZoneFixture.repositoryZones() + "/" + file
            XCTAssertEqual(try assertPresentationMatchesLDNS(file: path, origin: origin), count, file)
        }
    }

    /// Compares every record of `file` and returns how many there were.
    private func assertPresentationMatchesLDNS(file: String, origin: String) throws -> Int {
        let reader = LDNSZoneReader(
            file: file, source: try SourceText.read(file: file), origin: dnsName(origin), defaultTTL: 3600)
        let parsed = try reader.read(keepingPresentation: true)
        for parsed in parsed.records {
            let ours = normalized(parsed.record.data.description)
            let theirs = normalized(parsed.ldnsPresentation)
            XCTAssertEqual(ours, Self.knownDifferences[theirs] ?? theirs, "\(file):\(parsed.line ?? 0)")
        }
        return parsed.records.count
    }

    /// Where ldns and DNSWire both print valid presentation format but not the same one, ldns's text is mapped to
    /// DNSWire's. Each entry says why DNSWire's form is kept.
    private static let knownDifferences: [String: String] = [
        // In names ldns leaves `"`, `$` and `@` bare; DNSWire escapes them, so a label such as `@` or `$ORIGIN` can
        // never be read back from a master file as the origin or a directive.
        #"w\.x\;\("\\$@.diff.test."#: #"w\.x\;\(\"\\\$\@.diff.test."#,
        // ldns prints a tab inside a character-string raw; DNSWire escapes every non-printable octet, so a record
        // survives tools that turn tabs into spaces.
        "\"semi;colon\" \"quote\\\"d\" \"back\\\\slash\" \"tab \" \"high\\200\" \"nul\\000\"":
            "\"semi;colon\" \"quote\\\"d\" \"back\\\\slash\" \"tab\\009\" \"high\\200\" \"nul\\000\"",
    ]

    /// Line numbers come from the second pass: each record's first line, comments and multi-line records included.
    func testRecordLines() throws {
        let text = """
            $ORIGIN lines.test.
            ; comment

            @ IN SOA ns1 hostmaster (
                1 2 3 4 5 )
              IN NS ns1
            a IN A 192.0.2.1 ; trailing comment
                ; indented comment
            b IN TXT "x;y" (
                "z" )
            c IN A 192.0.2.3
            """
        let file = try fixture.write("lines.test.zone", text)
        let reader = LDNSZoneReader(
            file: file, source: try SourceText.read(file: file), origin: dnsName("lines.test."), defaultTTL: 60)
        let parsed = try reader.read()
        XCTAssertEqual(parsed.records.map(\.line), [4, 6, 7, 9, 11])
        XCTAssertEqual(parsed.soaLines, [4])
        XCTAssertEqual(parsed.firstOrigin, dnsName("lines.test."))
    }
}
