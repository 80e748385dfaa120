import DNSPipeline
import DNSWire
import XCTest

/// Header rules of DESIGN.md 1: opcode, QDCOUNT, EDNS version, ID/RD/AA, 0x20 case echo, OPT echo.
final class HeaderTests: XCTestCase {
    private let processor = PipelineFixture.shared
    private static let backend = TestQuery(name: "backend.app.svc.supercluster.local", type: .a)

    func testUnknownOpcodeIsNOTIMP() throws {
        for opcode in [Opcode.iquery, .status, Opcode(3), .notify, .update, Opcode(15)] {
            var query = Self.backend
            query.opcode = opcode
            let response = try XCTUnwrap(exchange(query.wire))
            XCTAssertEqual(response.rcode, .notImp, "\(opcode)")
            XCTAssertEqual(response.header.opcode, opcode, "\(opcode) echoed")
            XCTAssertEqual(response.header.id, query.id)
            XCTAssertFalse(response.header.authoritative)
            XCTAssertEqual(response.answers, [])
        }
    }

    /// DESIGN.md section 1: NOTIMP is decided from the header alone, so what follows it cannot make a FORMERR of
    /// it: an UPDATE as nsupdate sends it (a class-ANY delete with RDLENGTH 0), a NOTIFY or an unknown opcode
    /// without a question, a body that does not parse at all. CD is a QUERY flag and is not echoed.
    func testAnOpcodeOtherThanQueryIsNOTIMPFromTheHeaderAlone() throws {
        let zone: [UInt8] = [7] + Array("example".utf8) + [0, 0, 6, 0, 1]
        // nsupdate's "update delete www.example A": NAME, TYPE A, CLASS ANY, TTL 0, RDLENGTH 0.
        let delete: [UInt8] = [3] + Array("www".utf8) + [0xC0, 12, 0, 1, 0, 0xFF, 0, 0, 0, 0, 0, 0]
        let cases: [(String, UInt8, [UInt8])] = [
            ("UPDATE with a class-ANY delete", 5, [0, 1, 0, 0, 0, 1, 0, 0] + zone + delete),
            ("NOTIFY without a question", 4, [0, 0, 0, 0, 0, 0, 0, 0]),
            ("opcode 15 without a question", 15, [0, 0, 0, 0, 0, 0, 0, 0]),
            ("opcode 3 with a body that does not parse", 3, [0, 1, 0, 0, 0, 0, 0, 0, 0xC0]),
        ]
        for (label, opcode, body) in cases {
            // ID 0x1234, the opcode, RD and CD set.
            let query: [UInt8] = [0x12, 0x34, opcode << 3 | 0x01, 0x10] + body
            let bytes = try XCTUnwrap(PipelineFixture.shared.process(query, client: .pod), label)
            let response = try Message(parsing: bytes)
            XCTAssertEqual(response.rcode, .notImp, label)
            XCTAssertEqual(response.header.opcode, Opcode(opcode), label)
            XCTAssertEqual(response.header.id, 0x1234, label)
            XCTAssertTrue(response.header.isResponse, label)
            XCTAssertTrue(response.header.recursionDesired, label)
            XCTAssertFalse(response.header.checkingDisabled, "\(label): CD echoed outside QUERY")
            XCTAssertEqual(bytes.count, 12, "\(label): header only")
        }
    }

    /// RFC 8945 5.2.2: scdns holds no keys, so a signed query is NOTAUTH with an unsigned TSIG whose error is
    /// BADKEY, for a registry name as for any other; never an unsigned answer.
    func testATSIGSignedQueryIsNOTAUTHWithBADKEY() throws {
        for (name, edns) in [
            ("backend.app.svc.supercluster.local", EDNS?.none), ("example.com", EDNS(udpPayloadSize: 1232)),
        ] {
            var query = TestQuery(name: name, type: .a).message
            query.edns = edns
            var bytes = query.serialized()
            bytes[11] += 1
            let keyName = try DNSName("tsig-key.example")
            bytes += keyName.wire + [0, 250, 0, 255, 0, 0, 0, 0]
            let rdata: [UInt8] =
                try DNSName("hmac-sha256").wire + [0, 0, 0x65, 0x43, 0x21, 0x00, 1, 0x2C, 0, 4, 1, 2, 3, 4]
                + [0xBE, 0xEF, 0, 0, 0, 0]
            bytes += [0, UInt8(rdata.count)] + rdata
            let response = try XCTUnwrap(exchange(bytes), name)
            XCTAssertEqual(response.rcode, .notAuth, name)
            XCTAssertEqual(response.answers, [], name)
            XCTAssertEqual(response.questions, query.questions, name)
            XCTAssertEqual(response.edns != nil, edns != nil, "\(name): OPT as the query had it")
            let tsig = try XCTUnwrap(response.additional.last, name)
            XCTAssertEqual(tsig.name, keyName, name)
            XCTAssertEqual(tsig.rrClass, .any, name)
            guard case .unknown(let type, let data) = tsig.data else { return XCTFail("\(name): \(tsig.data)") }
            XCTAssertEqual(type, .tsig, name)
            // Same algorithm, time and fudge; MAC size 0; original ID; error 17 (BADKEY); no other data.
            XCTAssertEqual(
                data,
                try DNSName("hmac-sha256").wire + [
                    0, 0, 0x65, 0x43, 0x21, 0x00, 1, 0x2C, 0, 0, 0xBE, 0xEF, 0, 17, 0, 0,
                ],
                name)
        }
    }

    func testQuestionCountOtherThanOneIsFORMERR() throws {
        var none = Self.backend.message
        none.questions = []
        var two = Self.backend.message
        two.questions.append(Question(name: try DNSName("frontend.app.svc.supercluster.local"), type: .a))
        for message in [none, two] {
            let response = try XCTUnwrap(exchange(message.serialized()))
            XCTAssertEqual(response.rcode, .formErr)
            XCTAssertEqual(response.header.id, message.header.id)
            XCTAssertTrue(response.header.isResponse)
            XCTAssertEqual(response.answers, [])
        }
    }

    func testEDNSVersionAboveZeroIsBADVERS() throws {
        var query = Self.backend
        query.edns = EDNS(udpPayloadSize: 1232, version: 1)
        let response = try XCTUnwrap(exchange(query.wire))
        XCTAssertEqual(response.rcode, .badVers)
        XCTAssertEqual(response.rcode.rawValue, 16)
        let edns = try XCTUnwrap(response.edns, "BADVERS needs an OPT to carry its upper bits")
        XCTAssertEqual(edns.version, 0)
        XCTAssertEqual(response.answers, [])
        XCTAssertEqual(response.questions, query.message.questions)
    }

    func testIDAndRDAreEchoed() throws {
        for (id, rd) in [(UInt16(0), false), (1, true), (0xFFFF, true), (0x8001, false)] {
            for name in ["backend.app.svc.supercluster.local", "nope.supercluster.local", "example.com"] {
                var query = TestQuery(name: name, type: .a, id: id)
                query.recursionDesired = rd
                let response = try XCTUnwrap(exchange(query.wire))
                XCTAssertEqual(response.header.id, id, name)
                XCTAssertEqual(response.header.recursionDesired, rd, name)
                XCTAssertFalse(response.header.recursionAvailable, name)
            }
        }
    }

    func testCheckingDisabledIsEchoed() throws {
        var message = Self.backend.message
        message.header.checkingDisabled = true
        let response = try XCTUnwrap(exchange(message.serialized()))
        XCTAssertTrue(response.header.checkingDisabled)
        XCTAssertEqual(response.answers.count, 3)
    }

    /// DNS 0x20: the question and every owner derived from it come back exactly as sent.
    func testQuestionCaseIsEchoed() throws {
        let cases: [(String, RecordType, RCode, Int)] = [
            ("BaCkEnD.App.SVC.supercluster.LOCAL", .a, .noError, 3),
            ("_HTTP._Tcp.BACKEND.app.svc.SuperCluster.local", .srv, .noError, 1),
            ("DOCS.SuperCluster.Local", .a, .noError, 2),
            ("NoPe.SuperCluster.LOCAL", .a, .nxDomain, 0),
            ("BaCkEnD.App.SVC.supercluster.LOCAL", .aaaa, .noError, 0),
            ("Example.COM", .a, .refused, 0),
        ]
        for (name, type, rcode, answerCount) in cases {
            let query = TestQuery(name: name, type: type)
            let response = try XCTUnwrap(exchange(query.wire))
            let sent = try DNSName(name)
            XCTAssertEqual(response.rcode, rcode, name)
            XCTAssertEqual(response.questions.count, 1, name)
            XCTAssertTrue(response.questions.first?.name.isIdentical(to: sent) ?? false, "\(name) question")
            XCTAssertEqual(response.questions.first?.type, type, name)
            XCTAssertEqual(response.answers.count, answerCount, name)
            if let first = response.answers.first {
                XCTAssertTrue(first.name.isIdentical(to: sent), "\(name) answer owner: \(first.name)")
            }
        }
    }

    func testMixedCaseAnswerRecords() throws {
        let response = try XCTUnwrap(exchange(TestQuery(name: "BaCkEnD.App.SVC.supercluster.LOCAL", type: .a).wire))
        XCTAssertEqual(
            response.answers.map(\.description),
            addresses("BaCkEnD.App.SVC.supercluster.LOCAL.", ["10.100.0.1", "10.101.0.1", "10.102.0.1"]))
        XCTAssertTrue(response.header.authoritative)
    }

    func testEDNSIsEchoedWithDO() throws {
        for dnssecOK in [false, true] {
            for name in ["backend.app.svc.supercluster.local", "nope.supercluster.local", "example.com"] {
                var query = TestQuery(name: name, type: .a)
                query.edns = EDNS(udpPayloadSize: 4096, dnssecOK: dnssecOK)
                let response = try XCTUnwrap(exchange(query.wire))
                let edns = try XCTUnwrap(response.edns, name)
                XCTAssertEqual(edns.dnssecOK, dnssecOK, name)
                XCTAssertEqual(edns.version, 0, name)
                XCTAssertEqual(edns.udpPayloadSize, 1232, "\(name): our payload size")
                XCTAssertEqual(edns.options, [], name)
            }
        }
    }

    func testNoOPTWithoutEDNS() throws {
        for name in ["backend.app.svc.supercluster.local", "nope.supercluster.local", "example.com", "."] {
            let response = try XCTUnwrap(exchange(TestQuery(name: name, type: .a).wire))
            XCTAssertNil(response.edns, name)
        }
    }

    func testAuthoritativeFlag() throws {
        let cases: [(String, RecordType, Bool)] = [
            ("backend.app.svc.supercluster.local", .a, true),
            ("backend.app.global", .a, true),
            ("gateway.supercluster.local", .a, true),
            ("supercluster.local", .soa, true),
            ("nope.supercluster.local", .a, true),
            ("app.svc.supercluster.local", .a, true),
            ("10.0.0.240.in-addr.arpa", .ptr, true),
            ("example.com", .a, false),
        ]
        for (name, type, authoritative) in cases {
            let response = try XCTUnwrap(exchange(TestQuery(name: name, type: type).wire))
            XCTAssertEqual(response.header.authoritative, authoritative, name)
        }
    }
}
