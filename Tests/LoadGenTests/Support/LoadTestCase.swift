import Glibc
import LoadGen
import XCTest

/// Helpers shared by the tests that run the generator against a test responder.
class LoadTestCase: XCTestCase {
    /// Parses `lines` ("NAME TYPE") as a query file.
    func queries(_ lines: [String]) throws -> [QuerySpec] {
        try QueryFile.parse(lines.joined(separator: "\n"), file: "test")
    }

    func configuration(
        _ server: String, _ lines: [String], limit: LoadConfiguration.Limit, rate: Int? = nil, concurrency: Int = 50,
        transport: LoadConfiguration.Transport = .udp(sockets: 1), timeout: Int = 1000
    ) throws -> LoadConfiguration {
        LoadConfiguration(
            server: try XCTUnwrap(ServerAddress(server)), queries: try queries(lines), limit: limit, rate: rate,
            concurrency: concurrency, transport: transport, timeoutMilliseconds: timeout)
    }

    /// Runs `configuration` and returns the report with the wall-clock seconds the run took.
    func run(_ configuration: LoadConfiguration) throws -> (report: LoadReport, seconds: Double) {
        let start = Self.now()
        let report = try LoadGenerator.run(configuration)
        return (report, Self.now() - start)
    }

    /// The invariants of every report: each query sent is answered or lost, the rcodes add up to the
    /// answers, the percentiles are in order and within the timeout.
    func assertConsistent(_ report: LoadReport, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(report.sent, report.answered + report.lost, "sent = answered + lost", file: file, line: line)
        XCTAssertEqual(report.rcodes.reduce(0) { $0 + $1.count }, report.answered, file: file, line: line)
        XCTAssertTrue(report.errors.isEmpty, "\(report.errors)", file: file, line: line)
        guard report.answered > 0 else { return }
        let latency = report.latency
        let ordered = [latency.min, latency.p50, latency.p90, latency.p99, latency.p999, latency.max]
        XCTAssertEqual(ordered, ordered.sorted(), "percentiles in order", file: file, line: line)
        // The histogram keeps three significant digits: allow its rounding above the timeout.
        XCTAssertLessThanOrEqual(latency.max, Double(report.timeoutMilliseconds) * 1000 * 1.001, file: file, line: line)
        XCTAssertGreaterThan(report.durationSeconds, 0, file: file, line: line)
        XCTAssertEqual(
            report.qps, Double(report.answered) / report.durationSeconds, accuracy: report.qps * 1e-9 + 1e-6,
            file: file, line: line)
    }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
