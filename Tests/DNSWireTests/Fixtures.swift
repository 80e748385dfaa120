@testable import DNSWire

/// Messages and records shared by the round-trip, compression, fuzz and ldns tests.
enum Fixtures {
    /// One record of every type the codec knows, plus two opaque ones (RFC 3597), one with empty RDATA.
    static var everyType: [ResourceRecord] {
        let soa = SOARecord(
            primary: dn("ns1.example.com"), mailbox: dn("hostmaster.example.com"), serial: 2_024_010_101,
            refresh: 7200, retry: 3600, expire: 1_209_600, minimum: 300)
        let srv = SRVRecord(priority: 10, weight: 20, port: 5060, target: dn("sip.example.com"))
        return [
            ResourceRecord(name: dn("www.example.com"), ttl: 300, data: .a(IPv4Address(rawValue: 0xC000_0201))),
            ResourceRecord(
                name: dn("www.example.com"), ttl: 300, data: .aaaa(IPv6Address(high: 0x2001_0DB8_0000_0000, low: 1))),
            ResourceRecord(name: dn("example.com"), ttl: 86400, data: .ns(dn("ns1.example.com"))),
            ResourceRecord(name: dn("alias.example.com"), ttl: 60, data: .cname(dn("www.example.com"))),
            ResourceRecord(name: dn("example.com"), ttl: 3600, data: .soa(soa)),
            ResourceRecord(name: dn("1.2.0.192.in-addr.arpa"), ttl: 300, data: .ptr(dn("www.example.com"))),
            ResourceRecord(
                name: dn("example.com"), ttl: 300, data: .mx(preference: 10, exchange: dn("mail.example.com"))),
            ResourceRecord(
                name: dn("example.com"), ttl: 300,
                data: .txt([Array("v=spf1 -all".utf8), [], Array("say \"hi\" \\ back".utf8), [0x01, 0x7F, 0xFF]])),
            ResourceRecord(name: dn("empty.example.com"), ttl: 300, data: .txt([[]])),
            ResourceRecord(name: dn("_sip._tcp.example.com"), ttl: 300, data: .srv(srv)),
            ResourceRecord(
                name: dn("opaque.example.com"), ttl: 300, data: .unknown(type: RecordType(65280), data: [0xDE, 0xAD])),
            ResourceRecord(name: dn("opaque.example.com"), ttl: 300, data: .unknown(type: RecordType(65534), data: [])),
        ]
    }

    /// EDNS with DO, a large payload and options of known and unknown codes, one of them empty.
    static let edns = EDNS(
        udpPayloadSize: 4096, version: 0, dnssecOK: true,
        options: [
            EDNSOption(code: EDNSOption.nsidCode, data: []),
            EDNSOption(code: EDNSOption.cookieCode, data: [1, 2, 3, 4, 5, 6, 7, 8]),
            EDNSOption(code: 65001, data: [0xDE, 0xAD, 0xBE, 0xEF]),
            EDNSOption(code: EDNSOption.clientSubnetCode, data: [0, 1, 24, 0, 192, 0, 2]),
        ])

    static let responseHeader = Header(
        id: 0xBEEF, isResponse: true, authoritative: true, recursionDesired: true, recursionAvailable: true)

    /// Every type in every section, with EDNS.
    static var fullResponse: Message {
        Message(
            header: responseHeader, questions: [Question(name: dn("www.example.com"), type: .a)], answers: everyType,
            authority: everyType, additional: everyType, edns: edns)
    }

    /// A recursive query with EDNS and a 0x20-mixed-case name.
    static var query: Message {
        Message(
            header: Header(id: 0x1234, recursionDesired: true),
            questions: [Question(name: dn("wWw.ExAmPlE.cOm"), type: .aaaa)], edns: EDNS(udpPayloadSize: 1232))
    }

    /// A BADVERS response: RCODE 16 is 0 in the header and 1 in the OPT record.
    static var badVers: Message {
        Message(
            header: responseHeader, rcode: .badVers, questions: [Question(name: dn("example.com"), type: .soa)],
            edns: EDNS(udpPayloadSize: 1232, version: 0, dnssecOK: true))
    }

    /// Names whose labels need escapes in presentation format (dot, backslash, space, binary, upper case).
    static var awkwardNames: Message {
        let awkward = try! DNSName(labels: [
            [UInt8(ascii: "a"), 0x2E, 0x5C, 0x20, 0x00, 0xFF, 0x3B, 0x28, 0x29], Array("Example".utf8),
        ])
        return Message(
            header: responseHeader, questions: [Question(name: awkward, type: .txt)],
            answers: [
                ResourceRecord(name: awkward, ttl: 5, data: .txt([Array("bell\u{07}".utf8), Array("x y".utf8)])),
                ResourceRecord(name: dn("Upper.EXAMPLE"), ttl: 5, data: .cname(awkward)),
            ])
    }

    /// A CHAOS-class record, as `version.bind` answers use.
    static var chaos: Message {
        Message(
            header: responseHeader, questions: [Question(name: dn("version.bind"), type: .txt, qclass: .ch)],
            answers: [ResourceRecord(name: dn("version.bind"), rrClass: .ch, ttl: 0, data: .txt([Array("scdns".utf8)]))]
        )
    }
}
