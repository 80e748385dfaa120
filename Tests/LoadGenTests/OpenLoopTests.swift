import LoadGen
import XCTest

@testable import LoadGen

final class OpenLoopTests: LoadTestCase {
    /// At --rate R for D seconds the run sends R×D queries (the schedule is fixed, so exactly, here with a
    /// tolerance), and takes about D seconds: it neither rushes ahead nor waits for answers.
    func testSendsRateTimesDurationOnSchedule() throws {
        let responder = try UDPTestResponder(behavior: .byName)
        defer { responder.stop() }
        let (report, seconds) = try run(
            configuration(
                responder.address(), ["a.test A", "nx.test A"], limit: .duration(1.0), rate: 400,
                transport: .udp(sockets: 2)))
        assertConsistent(report)
        XCTAssertEqual(Double(report.sent), 400, accuracy: 8)
        XCTAssertEqual(report.answered, report.sent)
        XCTAssertEqual(report.mode, "open")
        XCTAssertEqual(report.rate, 400)
        // The last query is due at 0.9975 s; a loaded machine may be late, never early.
        XCTAssertGreaterThan(seconds, 0.95)
        XCTAssertLessThan(seconds, 5)
        XCTAssertGreaterThan(report.durationSeconds, 0.95)
    }

    /// Without answers the open loop keeps sending on schedule (a closed loop would stop at its concurrency).
    func testKeepsSendingWhenNothingComesBack() throws {
        let responder = try UDPTestResponder(behavior: .silent)
        defer { responder.stop() }
        let (report, seconds) = try run(
            configuration(responder.address(), ["a.test A"], limit: .duration(0.5), rate: 200, timeout: 200))
        assertConsistent(report)
        XCTAssertEqual(Double(report.sent), 100, accuracy: 2)
        XCTAssertEqual(report.answered, 0)
        XCTAssertEqual(report.lost, report.sent)
        XCTAssertEqual(Double(responder.received.load(ordering: .relaxed)), 100, accuracy: 2)
        XCTAssertGreaterThan(seconds, 0.45 + 0.2)
    }

    /// The responder stalls 400 ms after its 100th query. The open loop keeps sending through the stall, and
    /// each answer's latency counts from the query's due time, so a fifth or more of the run shows the stall.
    /// The closed loop with one query outstanding hides it in a single slow query.
    func testAStallShowsInTheOpenLoopsLatencies() throws {
        var stalling = ResponderBehavior.byName
        stalling.stall = (after: 100, milliseconds: 400)
        let open = try UDPTestResponder(behavior: stalling)
        defer { open.stop() }
        let (openReport, _) = try run(
            configuration(open.address(), ["a.test A"], limit: .duration(1.0), rate: 500, timeout: 3000))
        assertConsistent(openReport)
        XCTAssertEqual(Double(openReport.sent), 500, accuracy: 10)
        XCTAssertEqual(openReport.answered, openReport.sent)
        // Queries due during the stall wait up to 400 ms: about 200 of 500 over 0 ms, 150 over 100 ms.
        XCTAssertGreaterThan(openReport.latency.max, 300_000)
        XCTAssertGreaterThan(openReport.latency.p90, 100_000)

        let closed = try UDPTestResponder(behavior: stalling)
        defer { closed.stop() }
        let (closedReport, _) = try run(
            configuration(closed.address(), ["a.test A"], limit: .count(200), concurrency: 1, timeout: 3000))
        assertConsistent(closedReport)
        XCTAssertEqual(closedReport.answered, 200)
        XCTAssertGreaterThan(closedReport.latency.max, 300_000)
        XCTAssertLessThan(closedReport.latency.p90, 100_000)
    }

    /// A stall of the generator itself: the run starts 300 ms behind its schedule, as if the process had been
    /// descheduled. The responder answers at once, yet the queries due in those 300 ms count their latency from
    /// their due time, so about a fifth of the run is over 100 ms (measured from the actual send, none would be).
    func testLatencyCountsFromTheDueTime() throws {
        let responder = try UDPTestResponder(behavior: .byName)
        defer { responder.stop() }
        let configuration = try configuration(
            responder.address(), ["a.test A"], limit: .duration(1.0), rate: 1000, timeout: 3000)
        let report = try LoadGenerator.run(configuration, progress: nil, startLag: 300_000_000)
        assertConsistent(report)
        XCTAssertEqual(report.answered, 1000)
        // Query k < 300 was due 300 - k ms before the run began: the top tenth waited over 200 ms.
        XCTAssertGreaterThan(report.latency.max, 280_000)
        XCTAssertGreaterThan(report.latency.p90, 150_000)
    }

    /// The schedule itself: query k is due at start + k/R seconds exactly, dealt round-robin to the workers, and
    /// sent in bursts when more than one is due per tick.
    func testScheduleArithmetic() {
        let plans = (0..<3).map { index in
            WorkerPlan(
                index: index, workers: 3, start: 1_000, timeout: 1, concurrency: 0, end: nil, rate: 7,
                plannedCount: 20)
        }
        XCTAssertEqual(plans.map(\.openLoopCount), [7, 7, 6])
        XCTAssertEqual(plans[1].sequenceNumber(2), 7)
        XCTAssertEqual(plans[0].dueTime(0, rate: 7), 1_000)
        XCTAssertEqual(plans[0].dueTime(7, rate: 7), 1_000 + 1_000_000_000)
        XCTAssertEqual(plans[0].dueTime(8, rate: 7), 1_000 + 1_000_000_000 + 142_857_142)
        XCTAssertEqual(plans[0].burstSize(rate: 7), 1)
        XCTAssertEqual(plans[0].burstDueTime(2, rate: 7), plans[0].dueTime(6, rate: 7))
        XCTAssertEqual(plans[0].tickInterval(rate: 7), 3 * 1_000_000_000 / 7)
        // At 50,000 qps per worker, ten queries are due every 200 µs: they go as one burst, due (and timed) at
        // the last one's due time, so none leaves early.
        let fast = (0..<2).map { index in
            WorkerPlan(
                index: index, workers: 2, start: 0, timeout: 1, concurrency: 0, end: nil, rate: 100_000,
                plannedCount: 45)
        }
        XCTAssertEqual(fast[0].burstSize(rate: 100_000), 10)
        XCTAssertEqual(fast[0].tickInterval(rate: 100_000), WorkerPlan.minimumTick)
        XCTAssertEqual(fast[0].burstDueTime(0, rate: 100_000), 180_000)
        XCTAssertEqual(fast[0].burstDueTime(9, rate: 100_000), 180_000)
        XCTAssertEqual(fast[0].burstDueTime(10, rate: 100_000), 380_000)
        XCTAssertEqual(fast[0].burstDueTime(19, rate: 100_000), 380_000)
        XCTAssertEqual(fast[0].burstDueTime(20, rate: 100_000), 440_000, "the last, short burst")
        XCTAssertEqual(fast[1].burstDueTime(0, rate: 100_000), 190_000)
        let configuration = LoadConfiguration(
            server: ServerAddress("127.0.0.1:53")!, queries: [], limit: .duration(2.5), rate: 1000)
        XCTAssertEqual(configuration.plannedCount, 2500)
    }
}
