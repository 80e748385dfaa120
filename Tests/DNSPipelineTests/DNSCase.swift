import DNSPipeline
import DNSWire
import ServiceRegistry
import XCTest

/// A query as a test writes it: name, type and the header and EDNS knobs a case may turn.
struct TestQuery {
    var name: String
    var type: RecordType
    var qclass: RecordClass = .in
    var id: UInt16 = 0xBEEF
    var recursionDesired = true
    var opcode: Opcode = .query
    var edns: EDNS? = nil

    var message: Message {
        Message(
            header: Header(id: id, opcode: opcode, recursionDesired: recursionDesired),
            questions: [Question(name: try! DNSName(name), type: type, qclass: qclass)], edns: edns)
    }

    var wire: [UInt8] { message.serialized() }
}

/// One row of a table, CoreDNS-style: the query in, then the whole response expected out. Records are written in
/// presentation format (`ResourceRecord.description`), in the order they must appear.
struct DNSCase {
    var query: TestQuery
    var rcode: RCode = .noError
    var authoritative = true
    var truncated = false
    var answer: [String] = []
    var authority: [String] = []
    var additional: [String] = []
    var file: StaticString
    var line: UInt

    init(
        _ name: String, _ type: RecordType, qclass: RecordClass = .in, edns: EDNS? = nil, rcode: RCode = .noError,
        aa: Bool = true, tc: Bool = false, answer: [String] = [], authority: [String] = [],
        additional: [String] = [], file: StaticString = #filePath, line: UInt = #line
    ) {
        self.query = TestQuery(name: name, type: type, qclass: qclass, edns: edns)
        self.rcode = rcode
        self.authoritative = aa
        self.truncated = tc
        self.answer = answer
        self.authority = authority
        self.additional = additional
        self.file = file
        self.line = line
    }
}

extension ClientContext {
    /// A pod of cluster-a asking over UDP, as CoreDNS forwarding to scdns would.
    static let pod = ClientContext(address: ClientAddress(IPAddress("10.244.0.5")!), transport: .udp)

    static func from(_ address: String, _ transport: Transport = .udp) -> ClientContext {
        ClientContext(address: ClientAddress(IPAddress(address)!), transport: transport)
    }
}

/// Sends `query` through `processor` and parses the response; fails the test on a drop or an unparsable reply.
func exchange(
    _ query: [UInt8], with processor: QueryProcessor = PipelineFixture.shared, client: ClientContext = .pod,
    file: StaticString = #filePath, line: UInt = #line
) -> Message? {
    guard let bytes = processor.process(query, client: client) else {
        XCTFail("query dropped", file: file, line: line)
        return nil
    }
    do {
        return try Message(parsing: bytes)
    } catch {
        XCTFail("unparsable response: \(error)", file: file, line: line)
        return nil
    }
}

/// Runs every row of a table and compares the whole response: header, question echo, each section, OPT.
func assertCases(
    _ cases: [DNSCase], processor: QueryProcessor = PipelineFixture.shared, client: ClientContext = .pod
) {
    for row in cases {
        let file = row.file
        let line = row.line
        let label = "\(row.query.name) \(row.query.type)"
        guard let response = exchange(row.query.wire, with: processor, client: client, file: file, line: line)
        else { continue }
        XCTAssertEqual(response.header.id, row.query.id, "\(label): ID", file: file, line: line)
        XCTAssertTrue(response.header.isResponse, "\(label): QR", file: file, line: line)
        XCTAssertEqual(response.rcode, row.rcode, "\(label): RCODE", file: file, line: line)
        XCTAssertEqual(response.header.authoritative, row.authoritative, "\(label): AA", file: file, line: line)
        XCTAssertEqual(response.header.truncated, row.truncated, "\(label): TC", file: file, line: line)
        XCTAssertTrue(response.header.recursionDesired, "\(label): RD echoed", file: file, line: line)
        XCTAssertFalse(response.header.recursionAvailable, "\(label): RA", file: file, line: line)
        XCTAssertEqual(response.questions, row.query.message.questions, "\(label): question", file: file, line: line)
        XCTAssertEqual(response.answers.map(\.description), row.answer, "\(label): answer", file: file, line: line)
        XCTAssertEqual(
            response.authority.map(\.description), row.authority, "\(label): authority", file: file, line: line)
        XCTAssertEqual(
            response.additional.map(\.description), row.additional, "\(label): additional", file: file, line: line)
        XCTAssertEqual(response.edns != nil, row.query.edns != nil, "\(label): OPT present", file: file, line: line)
    }
}

/// Answer lines for `name` with TTL 5, one per address, A or AAAA by the address's form.
func addresses(_ name: String, _ list: [String], ttl: UInt32 = 5) -> [String] {
    list.map { "\(name) \(ttl) IN \($0.contains(":") ? "AAAA" : "A") \($0)" }
}
