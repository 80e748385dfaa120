import CLDNS
import XCTest

@testable import DNSWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct LDNSFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Helpers for the differential tests against libldns. Everything ldns allocates is freed here.
enum LDNS {
    /// ldns's `bool` is a signed char.
    static func flag(_ value: Bool) -> Int8 { value ? 1 : 0 }
    static func flag(_ value: Int8) -> Bool { value != 0 }

    /// Presentation text with runs of blanks, tabs and newlines made one space (ldns separates fields with
    /// tabs and ends lines with a newline; DNSWire uses single spaces).
    static func normalised(_ text: String) -> String {
        text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).joined(separator: " ")
    }

    /// Every record of an ldns list as ldns prints it, normalised.
    static func strings(_ list: UnsafeMutablePointer<ldns_rr_list>?) -> [String] {
        guard let list else { return [] }
        return (0..<ldns_rr_list_rr_count(list)).map { index in
            guard let text = ldns_rr2str(ldns_rr_list_rr(list, index)) else { return "<ldns_rr2str failed>" }
            defer { free(text) }
            return normalised(String(cString: text))
        }
    }

    /// Parses `wire` with `ldns_wire2pkt`, runs `body` on the packet and frees it; nil if ldns rejects it.
    static func withPacket<T>(_ wire: [UInt8], _ body: (UnsafeMutablePointer<ldns_pkt>) -> T) -> Result<T, LDNSFailure>
    {
        var packet: UnsafeMutablePointer<ldns_pkt>? = nil
        let status = wire.withUnsafeBufferPointer { ldns_wire2pkt(&packet, $0.baseAddress, $0.count) }
        guard status == LDNS_STATUS_OK, let packet else {
            return .failure(LDNSFailure(String(cString: ldns_get_errorstr_by_id(status))))
        }
        defer { ldns_pkt_free(packet) }
        return .success(body(packet))
    }

    /// The raw options of the packet's OPT record as ldns kept them.
    static func ednsData(_ packet: UnsafeMutablePointer<ldns_pkt>) -> [UInt8] {
        guard let rdf = ldns_pkt_edns_data(packet), let data = ldns_rdf_data(rdf) else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: ldns_rdf_size(rdf)))
    }

    /// Builds `message` with ldns: a query packet for its first question, each record parsed by
    /// `ldns_rr_new_frm_str` from DNSWire's presentation text, header bits and EDNS set through ldns, then
    /// written by `ldns_pkt2wire`.
    static func wire(for message: Message) -> Result<[UInt8], LDNSFailure> {
        guard let question = message.questions.first,
            let qname = ldns_dname_new_frm_str(question.name.description)
        else { return .failure(LDNSFailure("no question or bad name")) }
        guard
            let packet = ldns_pkt_query_new(
                qname, ldns_rr_type(UInt32(question.type.rawValue)), ldns_rr_class(UInt32(question.qclass.rawValue)), 0)
        else { return .failure(LDNSFailure("ldns_pkt_query_new")) }
        defer { ldns_pkt_free(packet) }
        let header = message.header
        ldns_pkt_set_id(packet, header.id)
        ldns_pkt_set_qr(packet, LDNS.flag(header.isResponse))
        ldns_pkt_set_aa(packet, LDNS.flag(header.authoritative))
        ldns_pkt_set_tc(packet, LDNS.flag(header.truncated))
        ldns_pkt_set_rd(packet, LDNS.flag(header.recursionDesired))
        ldns_pkt_set_ra(packet, LDNS.flag(header.recursionAvailable))
        ldns_pkt_set_ad(packet, LDNS.flag(header.authenticData))
        ldns_pkt_set_cd(packet, LDNS.flag(header.checkingDisabled))
        ldns_pkt_set_rcode(packet, message.rcode.headerBits)
        let sections = [
            (LDNS_SECTION_ANSWER, message.answers), (LDNS_SECTION_AUTHORITY, message.authority),
            (LDNS_SECTION_ADDITIONAL, message.additional),
        ]
        for (section, records) in sections {
            for record in records {
                var rr: UnsafeMutablePointer<ldns_rr>? = nil
                let status = ldns_rr_new_frm_str(&rr, record.description, 0, nil, nil)
                guard status == LDNS_STATUS_OK, let rr else {
                    return .failure(
                        LDNSFailure("ldns cannot read '\(record)': \(String(cString: ldns_get_errorstr_by_id(status)))")
                    )
                }
                _ = ldns_pkt_push_rr(packet, section, rr)
            }
        }
        if let edns = message.edns {
            ldns_pkt_set_edns_udp_size(packet, edns.udpPayloadSize)
            ldns_pkt_set_edns_version(packet, edns.version)
            ldns_pkt_set_edns_do(packet, LDNS.flag(edns.dnssecOK))
            ldns_pkt_set_edns_extended_rcode(packet, message.rcode.extendedBits)
            var options: [UInt8] = []
            for option in edns.options {
                options += [UInt8(option.code >> 8), UInt8(option.code & 0xFF)]
                options += [UInt8(option.data.count >> 8), UInt8(option.data.count & 0xFF)] + option.data
            }
            if !options.isEmpty {
                ldns_pkt_set_edns_data(packet, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, options.count, options))
            }
        }
        var buffer: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        let status = ldns_pkt2wire(&buffer, packet, &size)
        guard status == LDNS_STATUS_OK, let buffer else {
            return .failure(LDNSFailure("ldns_pkt2wire: \(String(cString: ldns_get_errorstr_by_id(status)))"))
        }
        defer { free(buffer) }
        return .success(Array(UnsafeBufferPointer(start: buffer, count: size)))
    }

    /// The messages both directions are checked with.
    static var corpus: [(String, Message)] {
        [
            ("full response", Fixtures.fullResponse),
            ("query", Fixtures.query),
            ("BADVERS", Fixtures.badVers),
            ("awkward names", Fixtures.awkwardNames),
            ("chaos", Fixtures.chaos),
            (
                "IPv4-mapped AAAA",
                Message(
                    header: Fixtures.responseHeader, questions: [Question(name: dn("v4.example"), type: .aaaa)],
                    answers: [
                        ResourceRecord(
                            name: dn("v4.example"), ttl: 9, data: .aaaa(IPv6Address(high: 0, low: 0xFFFF_C000_0201)))
                    ])
            ),
            (
                "NXDOMAIN with SOA",
                {
                    var message = Message(
                        header: Fixtures.responseHeader, rcode: .nxDomain,
                        questions: [Question(name: dn("nope.example.com"), type: .a)],
                        authority: Fixtures.everyType.filter { $0.type == .soa })
                    message.header.authenticData = true
                    return message
                }()
            ),
        ]
    }
}
