import DNSWire
import LoadGen
import XCTest

final class ReportArithmeticTests: LoadTestCase {
    /// Four names in turn: answered NOERROR, NXDOMAIN, dropped, NOERROR. With --count 1000 each goes 250 times,
    /// whatever order the two sockets' queries arrive in.
    func testCountsOfAKnownRunAddUp() throws {
        let responder = try UDPTestResponder(behavior: .byName)
        defer { responder.stop() }
        let lines = ["ok.test A", "nx.test A", "drop.test A", "ok2.test AAAA"]
        let (report, _) = try run(
            configuration(
                responder.address(), lines, limit: .count(1000), concurrency: 100, transport: .udp(sockets: 2),
                timeout: 100))
        assertConsistent(report)
        XCTAssertEqual(report.sent, 1000)
        XCTAssertEqual(report.answered, 750)
        XCTAssertEqual(report.lost, 250)
        XCTAssertEqual(report.lostPercent, 25.0, accuracy: 1e-9)
        XCTAssertEqual(report.unmatched, 0)
        XCTAssertEqual(report.rcodes, [.init(name: "NOERROR", count: 500), .init(name: "NXDOMAIN", count: 250)])
        XCTAssertEqual(responder.received.load(ordering: .relaxed), 1000)
        XCTAssertEqual(report.workers, 2)
        XCTAssertEqual(report.mode, "closed")
    }

    /// The responder drops every 4th query it receives, whichever it is: exactly a quarter is lost.
    func testEveryFourthArrivalDroppedIsAQuarterLost() throws {
        let dropFourth = ResponderBehavior { arrival, name in
            arrival % 4 == 0 ? .drop : .answer(name.hasPrefix("nx") ? .nxDomain : .noError)
        }
        let responder = try UDPTestResponder(behavior: dropFourth)
        defer { responder.stop() }
        let (report, _) = try run(
            configuration(responder.address(), ["a.test A", "nx.test A", "b.test A"], limit: .count(800), timeout: 100))
        assertConsistent(report)
        XCTAssertEqual(report.sent, 800)
        XCTAssertEqual(report.answered, 600)
        XCTAssertEqual(report.lost, 200)
        XCTAssertEqual(report.count(of: "NOERROR") + report.count(of: "NXDOMAIN"), 600)
    }

    /// An answer counts only when its question is the query's: another name is unmatched (and the query lost);
    /// the same name in other letter case counts.
    func testTheQuestionMustMatch() throws {
        let responder = try UDPTestResponder(behavior: .byName)
        defer { responder.stop() }
        let (report, _) = try run(
            configuration(responder.address(), ["wrong.test A", "upper.test A"], limit: .count(200), timeout: 100))
        assertConsistent(report)
        XCTAssertEqual(report.sent, 200)
        XCTAssertEqual(report.answered, 100)
        XCTAssertEqual(report.count(of: "NOERROR"), 100)
        XCTAssertEqual(report.lost, 100)
        XCTAssertEqual(report.unmatched, 100)
    }

    func testIPv6Server() throws {
        let responder: UDPTestResponder
        do {
            responder = try UDPTestResponder(behavior: .byName, ipv6: true)
        } catch {
            throw XCTSkip("no IPv6 loopback here: \(error)")
        }
        defer { responder.stop() }
        let (report, _) = try run(configuration(responder.address(ipv6: true), ["v6.test AAAA"], limit: .count(300)))
        assertConsistent(report)
        XCTAssertEqual(report.answered, 300)
        XCTAssertEqual(report.server, "[::1]:\(responder.port)")
    }

    func testNothingAnsweredWhenNobodyListens() throws {
        // A port with no socket: ICMP port unreachable, every query lost, and the run still ends.
        let responder = try UDPTestResponder(behavior: .silent)
        let address = responder.address()
        responder.stop()
        let (report, seconds) = try run(configuration(address, ["a.test A"], limit: .count(50), timeout: 100))
        assertConsistent(report)
        XCTAssertEqual(report.sent, 50)
        XCTAssertEqual(report.answered, 0)
        XCTAssertEqual(report.lost, 50)
        XCTAssertLessThan(seconds, 5)
    }
}
