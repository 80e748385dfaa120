import DNSWire
import XCTest
import ZoneFile

final class ZoneFileErrorTests: XCTestCase {
    private var fixture: ZoneFixture!

    override func setUpWithError() throws { fixture = try ZoneFixture() }
    override func tearDown() { fixture.remove() }

    /// Each broken file, the line the error must name (nil: none applies) and a part of the message.
    func testRejectedFiles() throws {
        let apex = ZoneFixture.apex()  // lines 1-4
        let cases: [(label: String, text: String, line: Int?, message: String)] = [
            ("bad rdata", apex + "ok A 192.0.2.1\nbad A 192.0.2.1.5\n", 6, "could not parse the RR's rdata"),
            (
                "bad rdata after comments and a multi-line record",
                apex + "; note\n\nmx MX ( 10\n  mail )\n\nbad A 1.2.3\nlater A 192.0.2.2\n", 10,
                "could not parse the RR's rdata"
            ),
            ("bad rdata on a last line without newline", apex + "ok A 192.0.2.1\nbad A 300.1.1.1", 6, "rdata"),
            ("bad type", apex + "x FOO 192.0.2.1\n", 5, "Syntax error"),
            ("$INCLUDE", apex + "$INCLUDE other.zone\n", 5, "$INCLUDE not implemented"),
            ("unknown directive", apex + "$FOO bar\n", 5, "an unknown $ directive?"),
            ("missing SOA", "$ORIGIN example.test.\n@ 60 IN NS ns1\n", nil, "no SOA record for example.test."),
            (
                "two SOAs", apex + "www A 192.0.2.1\n@ IN SOA ns2 hostmaster 2 3600 600 86400 30\n", 6,
                "second SOA record (the first is on line 3)"
            ),
            (
                "SOA below the apex", "$ORIGIN example.test.\nsub 60 IN SOA ns1 hm 1 2 3 4 5\n@ 60 NS ns1\n", 2,
                "SOA owner sub.example.test. is not the zone apex example.test."
            ),
            (
                "missing NS", "$ORIGIN example.test.\n@ 60 IN SOA ns1 hm 1 2 3 4 5\nsub 60 A 192.0.2.1\n", nil,
                "no NS record at the apex example.test."
            ),
            (
                "out of zone", apex + "www A 192.0.2.1\nwww.other.test. A 192.0.2.2\n", 6,
                "www.other.test. is out of zone: not at or below example.test."
            ),
            ("parent of the apex", apex + "test. A 192.0.2.2\n", 5, "out of zone"),
            (
                "CNAME after other data", apex + "www A 192.0.2.1\n\nwww CNAME elsewhere.test.\n", 7,
                "www.example.test. has a CNAME and A data"
            ),
            (
                "other data after a CNAME", apex + "www CNAME elsewhere.test.\nWWW TXT \"x\"\n", 6,
                "has a CNAME and TXT data"
            ),
            ("CNAME at the apex", apex + "@ CNAME elsewhere.test.\n", 5, "has a CNAME and SOA data"),
            ("two CNAMEs", apex + "www CNAME a.test.\nwww CNAME b.test.\n", 6, "more than one CNAME"),
            ("class CH", apex + "version CH TXT \"1\"\n", 5, "has class CH; only IN is served"),
            // DESIGN.md section 1: neither a delegation nor a wildcard may be served as ordinary data.
            (
                "delegation", apex + "www A 192.0.2.1\nsub NS ns.sub\nns.sub A 192.0.2.53\n", 6,
                "NS records below the apex"
            ),
            ("wildcard", apex + "*.apps A 192.0.2.1\n", 5, "*.apps.example.test. is a wildcard owner"),
            ("wildcard below a name", apex + "www A 192.0.2.1\na.*.b TXT \"x\"\n", 6, "wildcard owner"),
        ]
        for (label, text, line, message) in cases {
            let file = try fixture.write("example.test.zone", text)
            XCTAssertThrowsError(try ZoneFileLoader.load(file: file), label) { error in
                guard let error = error as? ZoneFileError else { return XCTFail("\(label): \(error)") }
                XCTAssertEqual(error.file, file, label)
                XCTAssertEqual(error.line, line, "\(label): \(error)")
                XCTAssertTrue(error.message.contains(message), "\(label): \(error)")
            }
        }
    }

    /// DNSSEC records may share a CNAME's owner (RFC 4035 2.5).
    func testCNAMEWithDNSSECDataIsAccepted() throws {
        let file = try fixture.write(
            "example.test.zone",
            ZoneFixture.apex()
                + "www CNAME elsewhere.test.\nwww NSEC zzz.example.test. CNAME RRSIG NSEC\n")
        XCTAssertEqual(try ZoneFileLoader.load(file: file).records.map(\.type), [.cname, .nsec])
    }

    func testUnreadableFiles() throws {
        let missing = fixture.path + "/missing.zone"
        let cases: [(file: String, message: String)] = [
            (missing, "cannot read zone file: No such file or directory"),
            (fixture.path, "cannot read zone file: Is a directory"),
        ]
        for (file, message) in cases {
            XCTAssertThrowsError(try ZoneFileLoader.load(file: file)) { error in
                XCTAssertEqual(error as? ZoneFileError, ZoneFileError(file: file, line: nil, message: message))
            }
        }
        XCTAssertThrowsError(try ZoneFileLoader.loadDirectory(missing)) { error in
            let expected = "\(missing): cannot read zone directory: No such file or directory"
            XCTAssertEqual((error as? ZoneFileError)?.description, expected)
        }
    }

    func testDuplicateOriginAcrossFilesNamesBoth() throws {
        let first = try fixture.write("a.zone", ZoneFixture.apex("dup.test."))
        let second = try fixture.write("b.zone", ZoneFixture.apex("DUP.test."))
        XCTAssertThrowsError(try ZoneFileLoader.loadDirectory(fixture.path)) { error in
            guard let error = error as? ZoneFileError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.file, second)
            XCTAssertEqual(error.line, nil)
            XCTAssertTrue(error.message.contains(first), error.description)
            XCTAssertTrue(
                error.description.hasPrefix(second + ": zone DUP.test. is also defined by"), error.description)
        }
    }

    func testDescriptionFormat() {
        let withLine = ZoneFileError(file: "zones/supercluster.local.zone", line: 7, message: "bad")
        XCTAssertEqual(withLine.description, "zones/supercluster.local.zone:7: bad")
        XCTAssertEqual(ZoneFileError(file: "z.zone", line: nil, message: "bad").description, "z.zone: bad")
    }
}
