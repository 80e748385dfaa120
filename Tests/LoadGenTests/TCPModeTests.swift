import LoadGen
import XCTest

final class TCPModeTests: LoadTestCase {
    func testPipelinedOverTwoConnections() throws {
        let responder = try TCPTestResponder(behavior: .byName)
        defer { responder.stop() }
        let (report, _) = try run(
            configuration(
                responder.address, ["a.test A", "nx.test A", "b.test AAAA"], limit: .count(600), concurrency: 20,
                transport: .tcp(connections: 2)))
        assertConsistent(report)
        XCTAssertEqual(report.transport, "tcp")
        XCTAssertEqual(report.sent, 600)
        XCTAssertEqual(report.answered, 600)
        XCTAssertEqual(report.rcodes, [.init(name: "NOERROR", count: 400), .init(name: "NXDOMAIN", count: 200)])
        XCTAssertEqual(report.reconnects, 0)
        XCTAssertEqual(responder.accepted.load(ordering: .relaxed), 2)
    }

    func testDropsAndOpenLoopOverTCP() throws {
        let responder = try TCPTestResponder(behavior: .byName)
        defer { responder.stop() }
        let (report, _) = try run(
            configuration(
                responder.address, ["a.test A", "drop.test A"], limit: .duration(0.5), rate: 400,
                transport: .tcp(connections: 1), timeout: 200))
        assertConsistent(report)
        XCTAssertEqual(Double(report.sent), 200, accuracy: 4)
        XCTAssertEqual(report.answered, report.sent / 2)
        XCTAssertEqual(report.lost, report.sent - report.sent / 2)
    }

    /// A server that closes the connection every 50 queries: the generator connects again and goes on; what
    /// was in flight on the closed connection is lost.
    func testReconnectsWhenTheServerCloses() throws {
        let responder = try TCPTestResponder(behavior: .byName, closeAfter: 50)
        defer { responder.stop() }
        let (report, _) = try run(
            configuration(
                responder.address, ["a.test A"], limit: .count(300), concurrency: 1,
                transport: .tcp(connections: 1), timeout: 100))
        assertConsistent(report)
        XCTAssertEqual(report.sent, 300)
        XCTAssertGreaterThanOrEqual(report.reconnects, 1)
        XCTAssertGreaterThan(report.answered, 250)
        XCTAssertGreaterThan(responder.accepted.load(ordering: .relaxed), 1)
    }

    func testRefusedConnectionIsAnError() throws {
        let responder = try TCPTestResponder(behavior: .byName)
        let address = responder.address
        responder.stop()
        XCTAssertThrowsError(
            try run(configuration(address, ["a.test A"], limit: .count(1), transport: .tcp(connections: 1)))
        ) { error in
            XCTAssertTrue("\(error)".contains("connect to \(address)"), "\(error)")
        }
    }
}
