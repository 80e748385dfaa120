import XCTest

@testable import DNSWire

/// `Message.truncate(_:to:)` cuts a finished response in place; at every limit it must give exactly what the
/// parser and `serialized(maxSize:)` give, or decline, and decline only where a kept record would refer into
/// what was left out.
final class InPlaceTruncationTests: XCTestCase {
    private static func a(_ owner: String, _ count: Int, base: UInt32) -> [ResourceRecord] {
        (0..<count).map { ResourceRecord(name: dn(owner), ttl: 60, data: .a(IPv4Address(rawValue: base + UInt32($0)))) }
    }

    private static func txt(_ owner: String, size: Int) -> [ResourceRecord] {
        [ResourceRecord(name: dn(owner), ttl: 60, data: .txt([[UInt8](repeating: 0x61, count: size)]))]
    }

    private static func srv(_ owner: String, targets: [String]) -> [ResourceRecord] {
        targets.enumerated().map { index, target in
            ResourceRecord(
                name: dn(owner), ttl: 5,
                data: .srv(SRVRecord(priority: 0, weight: UInt16(index), port: 80, target: dn(target))))
        }
    }

    /// Responses shaped as scdns writes them: a big A answer, SRV with glue in the additional section, an
    /// authority SOA, mixed case owners, with and without OPT.
    private static let messages: [Message] = {
        let question = Question(name: dn("Web.App.svc.supercluster.local"), type: .a)
        let header = Header(id: 0x5151, isResponse: true, authoritative: true, recursionDesired: true)
        let edns = EDNS(udpPayloadSize: 1232, dnssecOK: true)
        let targets = (0..<6).map { "pod-\($0).web.app.svc.supercluster.local" }
        let glue = targets.enumerated().flatMap { index, target in a(target, 1 + index % 3, base: UInt32(index) << 8) }
        let soa = ResourceRecord(
            name: dn("supercluster.local"), ttl: 5,
            data: .soa(
                SOARecord(
                    primary: dn("ns1.supercluster.local"), mailbox: dn("hostmaster.supercluster.local"), serial: 1,
                    refresh: 2, retry: 3, expire: 4, minimum: 5)))
        return [
            Message(
                header: header, questions: [question],
                answers: a("web.app.svc.supercluster.local", 120, base: 0x0A00_0000),
                edns: edns),
            Message(header: header, questions: [question], answers: a("WEB.app.svc.supercluster.local", 40, base: 7)),
            Message(
                header: header,
                questions: [Question(name: dn("_http._tcp.web.app.svc.supercluster.local"), type: .srv)],
                answers: srv("_http._tcp.web.app.svc.supercluster.local", targets: targets), additional: glue,
                edns: edns),
            Message(
                header: header, questions: [question], answers: a("web.app.svc.supercluster.local", 3, base: 1),
                authority: [soa],
                additional: txt("x.example", size: 200) + a("y.example", 2, base: 9)
                    + txt("z.example", size: 100), edns: edns),
            Message(
                header: header, questions: [question],
                answers: a("a.example", 5, base: 1) + txt("b.example", size: 230) + a("a.example", 2, base: 50),
                edns: EDNS(udpPayloadSize: 4096, options: [EDNSOption(code: 3, data: Array("dns-a-1".utf8))])),
        ]
    }()

    func testEveryLimitGivesWhatTheSerializerGivesOrDeclines() throws {
        var cut = 0
        for (number, message) in Self.messages.enumerated() {
            let full = message.serialized()
            let parsed = try Message(parsing: full)
            for limit in 12...(full.count + 1) {
                let expected = parsed.serialized(maxSize: limit)
                var bytes = full
                if Message.truncate(&bytes, to: limit) {
                    XCTAssertEqual(bytes, expected, "message \(number), limit \(limit)")
                    if bytes.count < full.count { cut += 1 }
                } else {
                    XCTAssertEqual(bytes, full, "message \(number), limit \(limit): declined, left as it was")
                    // Declining is only right where an additional RRset is left out (a later one may need it).
                    XCTAssertLessThan(
                        try Message(parsing: expected).additional.count, parsed.additional.count,
                        "message \(number), limit \(limit)")
                }
            }
        }
        XCTAssertGreaterThan(cut, 1000, "the in-place path did the cutting")
    }

    /// The answers scdns truncates most (one big A or AAAA RRset, SRV with glue) never decline.
    func testTheCommonShapesAreAlwaysCutInPlace() throws {
        for message in Self.messages.prefix(3) {
            let full = message.serialized()
            for limit in 512...1232 {
                var bytes = full
                XCTAssertTrue(Message.truncate(&bytes, to: limit), "limit \(limit)")
                XCTAssertLessThanOrEqual(bytes.count, max(limit, 12))
            }
        }
    }

    func testMalformedBytesAreDeclinedUntouched() {
        let full = Self.messages[0].serialized()
        for cutAt in [5, 13, 40, full.count - 3] {
            var bytes = Array(full.prefix(cutAt))
            let before = bytes
            XCTAssertFalse(Message.truncate(&bytes, to: cutAt - 1), "cut at \(cutAt)")
            XCTAssertEqual(bytes, before)
        }
    }
}
