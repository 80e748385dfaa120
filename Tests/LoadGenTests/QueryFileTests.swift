import DNSWire
import LoadGen
import XCTest

final class QueryFileTests: XCTestCase {
    func testGoodLinesCommentsAndBlanksInOrder() throws {
        let text = """
            # a dnsperf query file
            www.example.com A

            \tmail.example.com.\tMX
              # indented comment
            _http._tcp.backend.app.svc.supercluster.local SRV\r
            example.com aaaa
            odd.example TYPE65
            """
        let queries = try QueryFile.parse(text, file: "q.txt")
        XCTAssertEqual(
            queries.map(\.description),
            [
                "www.example.com. A", "mail.example.com. MX", "_http._tcp.backend.app.svc.supercluster.local. SRV",
                "example.com. AAAA", "odd.example. TYPE65",
            ])
        XCTAssertEqual(queries[4].type, RecordType(65))
    }

    func testWindowsLineEndingsCountLines() {
        XCTAssertEqual(try QueryFile.parse("a.example A\r\nb.example MX\r\n", file: "q").count, 2)
        assertError("a.example A\r\n\r\nb.example\r\n", line: 3, reason: .missingType)
    }

    func testMissingTypeNamesTheLine() {
        assertError("# header\nwww.example.com A\n\nlonely.example.com\n", line: 4, reason: .missingType)
    }

    func testUnknownTypeNamesTheLine() {
        assertError("a.example A\nb.example AAAAA\n", line: 2, reason: .unknownType("AAAAA"))
    }

    func testBadNameNamesTheLine() {
        assertError("a.example A\n\n\nbad..name A\n", line: 4, reason: .badName("bad..name"))
        let longLabel = String(repeating: "x", count: 64) + ".example"
        assertError("\(longLabel) A\n", line: 1, reason: .badName(longLabel))
    }

    func testExtraTextNamesTheLine() {
        assertError("a.example A\nb.example A IN\n", line: 2, reason: .extraText("IN"))
    }

    func testFileWithoutQueriesIsAnError() {
        assertError("# nothing\n\n", line: 0, reason: .noQueries)
    }

    func testErrorDescriptionNamesFileAndLine() {
        XCTAssertThrowsError(try QueryFile.parse("a.example A\nb.example\n", file: "/tmp/q.txt")) { error in
            XCTAssertEqual("\(error)", "/tmp/q.txt:2: missing type (the format is 'NAME TYPE')")
        }
    }

    func testLoadReadsAFileAndReportsAMissingOne() throws {
        let path = NSTemporaryDirectory() + "loadgen-queries-\(getpid()).txt"
        try "# test\nalpha.example A\nbeta.example AAAA\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(try QueryFile.load(path: path).map(\.description), ["alpha.example. A", "beta.example. AAAA"])
        XCTAssertThrowsError(try QueryFile.load(path: path + ".missing")) { error in
            guard let error = error as? QueryFileError, case .unreadable = error.reason else {
                return XCTFail("expected unreadable, got \(error)")
            }
            XCTAssertEqual(error.file, path + ".missing")
        }
    }

    func testNameAndTypeFlagsParseAsOneQuery() throws {
        XCTAssertEqual(try QuerySpec(name: "backend.app.svc.supercluster.local", type: "srv").type, .srv)
        XCTAssertThrowsError(try QuerySpec(name: "x.example", type: "BOGUS"))
    }

    private func assertError(
        _ text: String, line: Int, reason: QueryFileError.Reason, file: StaticString = #filePath, at: UInt = #line
    ) {
        XCTAssertThrowsError(try QueryFile.parse(text, file: "queries.txt"), file: file, line: at) { error in
            XCTAssertEqual(
                error as? QueryFileError, QueryFileError(file: "queries.txt", line: line, reason: reason), file: file,
                line: at)
        }
    }
}
