import DNSWire
import XCTest

/// RFC 7766: several queries on one connection, sent back to back before any reply, are all answered.
final class TCPPipeliningTests: XCTestCase {
    func testTwoPipelinedQueriesOnOneConnectionAreBothAnswered() throws {
        let server = try ServerProcess(arguments: ["--config", "scdns.yaml"])
        let names = ["backend.app.svc.supercluster.local.", "api.app.svc.supercluster.local."]
        let queries = try names.enumerated().map { index, name in
            Message(
                header: Header(id: UInt16(0x1000 + index)),
                questions: [Question(name: try DNSName(name), type: .a)]
            ).serialized()
        }
        let replies = try TCPClient.pipeline(queries, port: server.port)
        XCTAssertEqual(replies.count, 2)
        let messages = try replies.map { try Message(parsing: $0) }
        let byID = Dictionary(uniqueKeysWithValues: messages.map { ($0.header.id, $0) })
        XCTAssertEqual(byID[0x1000]?.answers.count, 3)
        XCTAssertEqual(byID[0x1001]?.answers.map(\.data), [.a(IPv4Address(rawValue: 0xF000_000A))])
        XCTAssertEqual(byID[0x1001]?.questions.first?.name, try DNSName(names[1]))
        XCTAssertEqual(server.stop(), 0)
    }
}
