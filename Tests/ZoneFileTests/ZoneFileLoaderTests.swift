import DNSWire
import Foundation
import XCTest
import ZoneFile

final class ZoneFileLoaderTests: XCTestCase {
    private var fixture: ZoneFixture!

    override func setUpWithError() throws { fixture = try ZoneFixture() }
    override func tearDown() { fixture.remove() }

    func testRepositoryZonesLoad() throws {
        let apexSOA = SOARecord(
            primary: dnsName("ns1.supercluster.local."), mailbox: dnsName("hostmaster.supercluster.local."),
            serial: 2_026_112_401, refresh: 3600, retry: 600, expire: 86400, minimum: 30)
        let cases: [(file: String, origin: String, records: [ResourceRecord])] = [
            (
                "supercluster.local.zone", "supercluster.local.",
                [
                    rr("ns1.supercluster.local.", 60, .a(ipv4(127, 0, 0, 1))),
                    rr("gateway.supercluster.local.", 60, .a(ipv4(10, 0, 0, 1))),
                    rr("info.supercluster.local.", 60, txt("scdns example zone")),
                    rr("docs.supercluster.local.", 60, .cname(dnsName("gateway.supercluster.local."))),
                ]
            ),
            ("global.zone", "global.", []),
        ]
        for (file, origin, records) in cases {
            let path = ZoneFixture.repositoryZones() + "/" + file
            let zone = try ZoneFileLoader.load(file: path)
            XCTAssertEqual(zone.origin, dnsName(origin), file)
            XCTAssertEqual(zone.file, path)
            XCTAssertEqual(zone.soa, rr(origin, 60, .soa(apexSOA)), file)
            XCTAssertEqual(zone.soaData.minimum, 30)
            XCTAssertEqual(zone.negativeTTL, 30)
            XCTAssertEqual(zone.nameServers, [rr(origin, 60, .ns(dnsName("ns1.supercluster.local.")))], file)
            XCTAssertEqual(zone.records, records, file)
        }
    }

    func testRepositoryDirectoryLoadsSortedByFileName() throws {
        let zones = try ZoneFileLoader.loadDirectory(ZoneFixture.repositoryZones())
        XCTAssertEqual(zones.map(\.origin), [dnsName("global."), dnsName("supercluster.local.")])
    }

    /// Relative names, $TTL, $ORIGIN, a multi-line SOA, comments and each record type, converted exactly.
    func testConvertsEveryConstruct() throws {
        let file = try fixture.write(
            "example.test.zone",
            """
            ; An example zone. Comments may follow anything; ( and ) inside comments do not count.
            $ORIGIN example.test.
            $TTL 300
            @   IN  SOA ns1 hostmaster.example.test. (   ; multi-line (RFC 1035 5.1)
                    2026112401  ; serial
                    3600 600    ; refresh, retry
                    86400       ; expire
                    30 )        ; minimum
                IN  NS  ns1
                IN  NS  ns2.elsewhere.test.
            ns1         IN  A       192.0.2.1
            ns1   120   IN  AAAA    2001:db8::1
            v6          IN  AAAA    2001:db8:0:0:1:0:0:1
            @           IN  MX      10 mail
            mail        IN  A       192.0.2.25
            _http._tcp  IN  SRV     10 20 80 www
            www         IN  A       192.0.2.80
            txt         IN  TXT     "hello world" bare "semi;colon" "quote\\"d" "back\\\\slash" "\\200"
            blob        IN  TYPE65400 \\# 4 0A0B0C0D
            empty       IN  TYPE65401 \\# 0
            hinfo       IN  HINFO   "pc" "linux"
            alias       IN  CNAME   www
            ns.sub      IN  A       192.0.2.53
            $ORIGIN rev.example.test.
            7           IN  PTR     www.example.test.
            $TTL 1h
            late        IN  A       192.0.2.99
            """)
        let zone = try ZoneFileLoader.load(file: file)
        XCTAssertEqual(zone.origin, dnsName("example.test."))
        let soa = SOARecord(
            primary: dnsName("ns1.example.test."), mailbox: dnsName("hostmaster.example.test."), serial: 2_026_112_401,
            refresh: 3600, retry: 600, expire: 86400, minimum: 30)
        XCTAssertEqual(zone.soa, rr("example.test.", 300, .soa(soa)))
        XCTAssertEqual(
            zone.nameServers,
            [
                rr("example.test.", 300, .ns(dnsName("ns1.example.test."))),
                rr("example.test.", 300, .ns(dnsName("ns2.elsewhere.test."))),
            ])
        let expected: [ResourceRecord] = [
            rr("ns1.example.test.", 300, .a(ipv4(192, 0, 2, 1))),
            rr("ns1.example.test.", 120, .aaaa(IPv6Address(high: 0x2001_0db8_0000_0000, low: 1))),
            rr("v6.example.test.", 300, .aaaa(IPv6Address(high: 0x2001_0db8_0000_0000, low: 0x0001_0000_0000_0001))),
            rr("example.test.", 300, .mx(preference: 10, exchange: dnsName("mail.example.test."))),
            rr("mail.example.test.", 300, .a(ipv4(192, 0, 2, 25))),
            rr(
                "_http._tcp.example.test.", 300,
                .srv(SRVRecord(priority: 10, weight: 20, port: 80, target: dnsName("www.example.test.")))),
            rr("www.example.test.", 300, .a(ipv4(192, 0, 2, 80))),
            rr(
                "txt.example.test.", 300,
                .txt([
                    Array("hello world".utf8), Array("bare".utf8), Array("semi;colon".utf8), Array("quote\"d".utf8),
                    Array("back\\slash".utf8), [200],
                ])),
            rr("blob.example.test.", 300, .unknown(type: RecordType(65400), data: [0x0A, 0x0B, 0x0C, 0x0D])),
            rr("empty.example.test.", 300, .unknown(type: RecordType(65401), data: [])),
            rr(
                "hinfo.example.test.", 300,
                .unknown(type: .hinfo, data: [2] + Array("pc".utf8) + [5] + Array("linux".utf8))),
            rr("alias.example.test.", 300, .cname(dnsName("www.example.test."))),
            rr("ns.sub.example.test.", 300, .a(ipv4(192, 0, 2, 53))),
            rr("7.rev.example.test.", 300, .ptr(dnsName("www.example.test."))),
            rr("late.rev.example.test.", 3600, .a(ipv4(192, 0, 2, 99))),
        ]
        XCTAssertEqual(zone.records.count, expected.count)
        for (got, want) in zip(zone.records, expected) {
            XCTAssertEqual(got, want)
            XCTAssertTrue(got.name.isIdentical(to: want.name), "\(got.name) keeps its letter case")
        }
        XCTAssertEqual(zone.allRecords.count, 1 + 2 + expected.count)
    }

    /// Which name is the apex: an explicit origin, else a leading $ORIGIN, else the file name.
    func testOriginSources() throws {
        let withOrigin = ZoneFixture.apex("named.test.")
        let withoutOrigin = """
            @ 300 IN SOA ns1 hostmaster 1 3600 600 86400 30
            @ 300 IN NS ns1
            www 300 IN A 192.0.2.1

            """
        let cases: [(file: String, text: String, origin: String?, apex: String)] = [
            ("file.test.zone", withoutOrigin, nil, "file.test."),
            ("file.test.zone", withOrigin, nil, "named.test."),
            ("db.legacy", withoutOrigin, nil, "db.legacy."),
            ("file.test.zone", withoutOrigin, "given.test.", "given.test."),
        ]
        for (file, text, origin, apex) in cases {
            let path = try fixture.write(file, text)
            let zone = try ZoneFileLoader.load(file: path, origin: origin.map { dnsName($0) })
            XCTAssertEqual(zone.origin, dnsName(apex), "\(file) \(origin ?? "-")")
            XCTAssertEqual(zone.soa.name, dnsName(apex))
            XCTAssertEqual(zone.nameServers.map(\.data), [.ns(try dnsName(apex).prepending("ns1"))])
        }
    }

    /// TTL defaults: the loader's default, then RFC 1035's "last explicitly stated value" until a $TTL, whose value
    /// then applies (RFC 2308 4).
    func testTTLDefaults() throws {
        let file = try fixture.write(
            "ttl.test.zone",
            """
            @ IN SOA ns1 hostmaster 1 3600 600 86400 30
            @ IN NS ns1
            a IN A 192.0.2.1
            b 42 IN A 192.0.2.2
            c IN A 192.0.2.3
            $TTL 7
            d IN A 192.0.2.4
            e 9 IN A 192.0.2.5
            f IN A 192.0.2.6

            """)
        let zone = try ZoneFileLoader.load(file: file, defaultTTL: 1234)
        XCTAssertEqual(zone.soa.ttl, 1234)
        XCTAssertEqual(zone.records.map(\.ttl), [1234, 42, 42, 7, 9, 7])
    }

    /// An empty directory gives no zones; hidden files and other extensions are not zones.
    func testDirectoryContents() throws {
        XCTAssertEqual(try ZoneFileLoader.loadDirectory(fixture.path).count, 0)
        try fixture.write("b.test.zone", ZoneFixture.apex("b.test."))
        try fixture.write("a.test.zone", ZoneFixture.apex("a.test."))
        try fixture.write(".hidden.test.zone", "not a zone at all (")
        try fixture.write("notes.txt", "not a zone either")
        let zones = try ZoneFileLoader.loadDirectory(fixture.path + "/")
        XCTAssertEqual(zones.map(\.origin), [dnsName("a.test."), dnsName("b.test.")])
        XCTAssertEqual(zones.map(\.file), [fixture.path + "/a.test.zone", fixture.path + "/b.test.zone"])
    }

    /// Loads share no ldns state: zones load in parallel (the server reloads while `scdns check` may run) and agree.
    func testConcurrentLoadsAgree() throws {
        let expected = try ZoneFileLoader.loadDirectory(ZoneFixture.repositoryZones())
        let results = LockedResults()
        DispatchQueue.concurrentPerform(iterations: 32) { _ in
            results.append(Result { try ZoneFileLoader.loadDirectory(ZoneFixture.repositoryZones()) })
        }
        for result in results.all {
            XCTAssertEqual(try result.get(), expected)
        }
    }
}

private final class LockedResults: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<[Zone], any Error>] = []

    func append(_ result: Result<[Zone], any Error>) { lock.withLock { results.append(result) } }
    var all: [Result<[Zone], any Error>] { lock.withLock { results } }
}
