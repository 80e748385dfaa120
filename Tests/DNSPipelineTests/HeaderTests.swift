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
