import Foundation
import LoadGen
import XCTest

@testable import LoadGen

final class ReportOutputTests: LoadTestCase {
    func testJSONParsesAndHasTheKeys() throws {
        let responder = try UDPTestResponder(behavior: .byName)
        defer { responder.stop() }
        let (report, _) = try run(
            configuration(
                responder.address(), ["a.test A", "nx.test A", "drop.test A"], limit: .count(300), timeout: 100))
        let data = Data(report.json.utf8)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let keys: Set = [
            "server", "transport", "workers", "mode", "concurrency", "rate", "timeout_ms", "sent", "answered", "lost",
            "lost_percent", "unmatched", "rcodes", "duration_s", "qps", "latency_us", "reconnects", "errors",
        ]
        XCTAssertEqual(Set(object.keys), keys)
        XCTAssertFalse(report.json.contains("\n"), "one line")
        XCTAssertEqual(object["server"] as? String, responder.address())
        XCTAssertEqual(object["transport"] as? String, "udp")
        XCTAssertEqual(object["mode"] as? String, "closed")
        XCTAssertEqual(object["concurrency"] as? Int, 50)
        XCTAssertTrue(object["rate"] is NSNull)
        XCTAssertEqual(object["sent"] as? Int, 300)
        XCTAssertEqual(object["answered"] as? Int, 200)
        XCTAssertEqual(object["lost"] as? Int, 100)
        XCTAssertEqual(try XCTUnwrap(object["lost_percent"] as? Double), 100.0 / 3, accuracy: 0.001)
        XCTAssertEqual(object["rcodes"] as? [String: Int], ["NOERROR": 100, "NXDOMAIN": 100])
        let latency = try XCTUnwrap(object["latency_us"] as? [String: Double])
        XCTAssertEqual(Set(latency.keys), ["min", "p50", "p90", "p99", "p99_9", "max"])
        XCTAssertEqual(try XCTUnwrap(latency["p99"]), report.latency.p99, accuracy: 0.001)
        XCTAssertEqual(try XCTUnwrap(object["qps"] as? Double), report.qps, accuracy: 0.1)
        XCTAssertEqual(object["errors"] as? [String], [])
    }

    func testTextReportLines() throws {
        let responder = try UDPTestResponder(behavior: .byName)
        defer { responder.stop() }
        let (report, _) = try run(
            configuration(responder.address(), ["a.test A", "drop.test A"], limit: .count(100), timeout: 100))
        let lines = report.text.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("scdns qps: \(responder.address()) over UDP (1 socket), closed loop"))
        XCTAssertTrue(lines.contains("sent        100"), "\(lines)")
        XCTAssertTrue(lines.contains("answered    50"), "\(lines)")
        XCTAssertTrue(lines.contains("lost        50 (50.00%, timeout 100 ms)"), "\(lines)")
        XCTAssertTrue(lines.contains("rcodes      NOERROR 50"), "\(lines)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("latency µs  min ") && $0.contains(" p99.9 ") }, "\(lines)")
    }

    func testProgressLine() {
        let sample = ProgressSample(
            elapsedSeconds: 3.0004, sent: 301_234, answered: 301_000, lost: 2, qps: 100_411.6, p99Microseconds: 84.25)
        XCTAssertEqual(sample.line, "3.0 s  sent 301234  qps 100412  lost 2  p99 84.3 µs")
    }

    func testJSONStringEscaping() {
        XCTAssertEqual(LoadReport.quoted("a\"b\\c\nd\u{1}"), #""a\"b\\c\nd\u0001""#)
    }
}
