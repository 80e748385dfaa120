import LoadGen
import XCTest

final class ServerAddressTests: XCTestCase {
    func testIPv4AndBracketedIPv6WithPort() throws {
        let v4 = try XCTUnwrap(ServerAddress("127.0.0.1:5353"))
        XCTAssertEqual(v4.host, "127.0.0.1")
        XCTAssertEqual(v4.port, 5353)
        XCTAssertEqual(v4.description, "127.0.0.1:5353")
        let v6 = try XCTUnwrap(ServerAddress("[::1]:53"))
        XCTAssertEqual(v6.host, "::1")
        XCTAssertEqual(v6.port, 53)
        XCTAssertEqual(v6.description, "[::1]:53")
    }

    func testRejectsWhatIsNotALiteralAddressAndPort() {
        for text in ["127.0.0.1", "::1:53", "[::1]", "[::1]53", "localhost:53", "127.0.0.1:0", "127.0.0.1:65536", ""] {
            XCTAssertNil(ServerAddress(text), text)
        }
    }

    func testValidationNamesTheProblem() throws {
        let server = try XCTUnwrap(ServerAddress("127.0.0.1:53"))
        let query = try QuerySpec(name: "a.example", type: "A")
        var configuration = LoadConfiguration(server: server, queries: [query])
        XCTAssertNoThrow(try configuration.validate())
        configuration.concurrency = 2
        configuration.transport = .udp(sockets: 4)
        XCTAssertThrowsError(try configuration.validate())
        configuration.rate = 1000
        XCTAssertNoThrow(try configuration.validate(), "the open loop has no concurrency to split")
        configuration.limit = .count(0)
        XCTAssertThrowsError(try configuration.validate())
        configuration = LoadConfiguration(server: server, queries: [query], concurrency: 70_000)
        XCTAssertThrowsError(try configuration.validate(), "more than 65535 IDs per socket")
        configuration = LoadConfiguration(server: server, queries: [])
        XCTAssertThrowsError(try configuration.validate())
    }
}
