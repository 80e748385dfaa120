import CLDNS
import XCTest

@testable import DNSWire

/// Direction (a): what DNSWire writes, ldns reads, and ldns prints every record as DNSWire does.
final class LDNSReadsDNSWireTests: XCTestCase {
    private struct Seen {
        var questions: [String]
        var sections: [[String]]
        var id: UInt16
        var flags: [Bool]
        var opcode: UInt32
        var rcode: UInt8
        var edns: Bool
        var udpSize: UInt16
        var version: UInt8
        var dnssecOK: Bool
        var extendedRCode: UInt8
        var options: [UInt8]
    }

    private func read(_ wire: [UInt8]) -> Result<Seen, LDNSFailure> {
        LDNS.withPacket(wire) { packet in
            Seen(
                questions: LDNS.strings(ldns_pkt_question(packet)),
                sections: [ldns_pkt_answer(packet), ldns_pkt_authority(packet), ldns_pkt_additional(packet)].map(
                    LDNS.strings),
                id: ldns_pkt_id(packet),
                flags: [
                    ldns_pkt_qr(packet), ldns_pkt_aa(packet), ldns_pkt_tc(packet), ldns_pkt_rd(packet),
                    ldns_pkt_ra(packet), ldns_pkt_ad(packet), ldns_pkt_cd(packet),
                ].map(LDNS.flag),
                opcode: ldns_pkt_get_opcode(packet).rawValue, rcode: UInt8(ldns_pkt_get_rcode(packet).rawValue),
                edns: LDNS.flag(ldns_pkt_edns(packet)), udpSize: ldns_pkt_edns_udp_size(packet),
                version: ldns_pkt_edns_version(packet), dnssecOK: LDNS.flag(ldns_pkt_edns_do(packet)),
                extendedRCode: ldns_pkt_edns_extended_rcode(packet), options: LDNS.ednsData(packet))
        }
    }

    func testLDNSReadsEveryMessageAndPrintsTheSameRecords() {
        for (label, message) in LDNS.corpus {
            for compress in [true, false] {
                let context = "\(label), compress: \(compress)"
                let wire = message.serialized(compress: compress)
                let seen: Seen
                switch read(wire) {
                case .success(let value): seen = value
                case .failure(let failure):
                    XCTFail("\(context): ldns rejected DNSWire's bytes: \(failure)")
                    continue
                }
                // Both sides read the same octets; a compressed suffix takes its target's case on both.
                guard let ours = parseOrFail(wire, context) else { continue }
                XCTAssertEqual(ours, message, context)
                XCTAssertEqual(seen.questions, ours.questions.map { LDNS.normalised($0.description) }, context)
                let sections = [ours.answers, ours.authority, ours.additional]
                for (index, records) in sections.enumerated() {
                    let ours = records.map { LDNS.normalised($0.description) }
                    XCTAssertEqual(seen.sections[index].count, ours.count, "\(context), section \(index)")
                    for (theirs, mine) in zip(seen.sections[index], ours) {
                        XCTAssertEqual(theirs, mine, "\(context), section \(index)")
                    }
                }
                let header = message.header
                XCTAssertEqual(seen.id, header.id, context)
                let flags = [
                    header.isResponse, header.authoritative, header.truncated, header.recursionDesired,
                    header.recursionAvailable, header.authenticData, header.checkingDisabled,
                ]
                XCTAssertEqual(seen.flags, flags, context)
                XCTAssertEqual(seen.opcode, UInt32(header.opcode.rawValue), context)
                XCTAssertEqual(seen.rcode, message.rcode.headerBits, context)
                XCTAssertEqual(seen.edns, message.edns != nil, context)
                guard let edns = message.edns else { continue }
                XCTAssertEqual(seen.udpSize, edns.udpPayloadSize, context)
                XCTAssertEqual(seen.version, edns.version, context)
                XCTAssertEqual(seen.dnssecOK, edns.dnssecOK, context)
                XCTAssertEqual(seen.extendedRCode, message.rcode.extendedBits, context)
                let options = edns.options.flatMap { option in
                    [UInt8(option.code >> 8), UInt8(option.code & 0xFF), 0, UInt8(option.data.count)] + option.data
                }
                XCTAssertEqual(seen.options, options, context)
            }
        }
    }

    /// ldns's own printing of single records, typed out, so a change on either side shows in one place.
    func testPresentationOfEachTypeMatchesLDNS() {
        let expected = [
            "www.example.com. 300 IN A 192.0.2.1",
            "www.example.com. 300 IN AAAA 2001:db8::1",
            "example.com. 86400 IN NS ns1.example.com.",
            "alias.example.com. 60 IN CNAME www.example.com.",
            "example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300",
            "1.2.0.192.in-addr.arpa. 300 IN PTR www.example.com.",
            "example.com. 300 IN MX 10 mail.example.com.",
            "example.com. 300 IN TXT \"v=spf1 -all\" \"\" \"say \\\"hi\\\" \\\\ back\" \"\\001\\127\\255\"",
            "empty.example.com. 300 IN TXT \"\"",
            "_sip._tcp.example.com. 300 IN SRV 10 20 5060 sip.example.com.",
            "opaque.example.com. 300 IN TYPE65280 \\# 2 dead",
            "opaque.example.com. 300 IN TYPE65534 \\# 0",
        ]
        let message = Message(header: Fixtures.responseHeader, answers: Fixtures.everyType)
        XCTAssertEqual(Fixtures.everyType.map(\.description), expected)
        guard case .success(let seen) = read(message.serialized()) else { return XCTFail("ldns rejected it") }
        XCTAssertEqual(seen.sections[0], expected)
    }
}
