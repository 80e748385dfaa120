import CLDNS
import XCTest

@testable import DNSWire

/// Direction (b): what ldns writes (with its own name compression), DNSWire reads to the same records.
final class DNSWireReadsLDNSTests: XCTestCase {
    func testDNSWireParsesLDNSPackets() {
        for (label, expected) in LDNS.corpus {
            let wire: [UInt8]
            switch LDNS.wire(for: expected) {
            case .success(let bytes): wire = bytes
            case .failure(let failure):
                XCTFail("\(label): \(failure)")
                continue
            }
            guard let parsed = parseOrFail(wire, label) else { continue }
            XCTAssertEqual(parsed.header, expected.header, label)
            XCTAssertEqual(parsed.rcode, expected.rcode, label)
            XCTAssertEqual(parsed.questions, expected.questions, label)
            XCTAssertEqual(parsed.answers, expected.answers, label)
            XCTAssertEqual(parsed.authority, expected.authority, label)
            XCTAssertEqual(parsed.additional, expected.additional, label)
            XCTAssertEqual(parsed.edns, expected.edns, label)
            // Same message, so DNSWire's own rendering of it parses to the same thing as ldns's.
            XCTAssertEqual(parseOrFail(expected.serialized()), parsed, label)
        }
    }

    /// ldns compresses owner names and RDATA names; DNSWire must follow its pointers.
    func testLDNSCompressesAndDNSWireFollows() {
        let message = Fixtures.fullResponse
        guard case .success(let wire) = LDNS.wire(for: message) else { return XCTFail("ldns could not build it") }
        XCTAssertLessThan(wire.count, message.serialized(compress: false).count)
        XCTAssertTrue(nameSites(in: wire).contains(where: \.compressed))
        XCTAssertEqual(parseOrFail(wire)?.answers, message.answers)
    }

    /// Records typed as master-file text, read by ldns, written by ldns, parsed by DNSWire.
    func testRecordsFromLDNSText() {
        let table: [(String, ResourceRecord)] = [
            (
                "host.example. 60 IN A 10.1.2.3",
                ResourceRecord(name: dn("host.example"), ttl: 60, data: .a(IPv4Address(rawValue: 0x0A01_0203)))
            ),
            (
                "host.example. 60 IN AAAA fd00:100::7",
                ResourceRecord(
                    name: dn("host.example"), ttl: 60, data: .aaaa(IPv6Address(high: 0xFD00_0100_0000_0000, low: 7)))
            ),
            (
                "Host.Example. 0 IN MX 0 .",
                ResourceRecord(name: dn("Host.Example"), ttl: 0, data: .mx(preference: 0, exchange: .root))
            ),
            (
                "t.example. 1 IN TXT a \"b c\" \"\"",
                ResourceRecord(name: dn("t.example"), ttl: 1, data: .txt([[0x61], Array("b c".utf8), []]))
            ),
            (
                "t.example. 1 IN TXT \"\\000\\255\"",
                ResourceRecord(name: dn("t.example"), ttl: 1, data: .txt([[0, 255]]))
            ),
            (
                "_x._udp.example. 2 IN SRV 0 0 53 .",
                ResourceRecord(
                    name: dn("_x._udp.example"), ttl: 2,
                    data: .srv(SRVRecord(priority: 0, weight: 0, port: 53, target: .root)))
            ),
            (
                "u.example. 3 IN TYPE65280 \\# 3 010203",
                ResourceRecord(name: dn("u.example"), ttl: 3, data: .unknown(type: RecordType(65280), data: [1, 2, 3]))
            ),
            (
                "4294967295.example. 4294967295 IN PTR a\\.b.example.",
                ResourceRecord(name: dn("4294967295.example"), ttl: 4_294_967_295, data: .ptr(dn("a\\.b.example")))
            ),
        ]
        for (text, expected) in table {
            var rr: UnsafeMutablePointer<ldns_rr>? = nil
            guard ldns_rr_new_frm_str(&rr, text, 0, nil, nil) == LDNS_STATUS_OK, let rr else {
                XCTFail("ldns cannot read \(text)")
                continue
            }
            guard let packet = ldns_pkt_new() else {
                ldns_rr_free(rr)
                continue
            }
            defer { ldns_pkt_free(packet) }
            _ = ldns_pkt_push_rr(packet, LDNS_SECTION_ANSWER, rr)
            var buffer: UnsafeMutablePointer<UInt8>? = nil
            var size = 0
            guard ldns_pkt2wire(&buffer, packet, &size) == LDNS_STATUS_OK, let buffer else {
                XCTFail("ldns cannot write \(text)")
                continue
            }
            let wire = Array(UnsafeBufferPointer(start: buffer, count: size))
            free(buffer)
            guard let record = parseOrFail(wire, text)?.answers.first else { continue }
            XCTAssertEqual(record, expected, text)
            XCTAssertTrue(record.name.isIdentical(to: expected.name), text)
        }
    }
}
