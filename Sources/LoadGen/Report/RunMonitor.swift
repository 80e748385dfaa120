import DNSWire
import Histogram

/// The reporting side of a run: takes each worker's new latencies (swapping histograms under the worker's
/// lock, so the lock is held for a moment) and totals, for the progress lines and the final report.
struct RunMonitor {
    private let stats: [WorkerStats]
    private let start: UInt64
    /// One spare histogram per worker, swapped with the worker's on each collection.
    private var spares: [Histogram<UInt64>]
    private var interval: Histogram<UInt64>
    private var total: Histogram<UInt64>
    private var counters = WorkerStats.Counters()
    private var errors: [String] = []
    private var finished = false
    private var previousAnswered: UInt64 = 0
    private var previousTime: UInt64

    init(stats: [WorkerStats], start: UInt64, highest: UInt64) {
        self.stats = stats
        self.start = start
        let empty = WorkerStats.makeHistogram(highest: highest)
        spares = Array(repeating: empty, count: stats.count)
        interval = empty
        total = empty
        previousTime = start
    }

    /// Whether every worker has finished (all sent, all answered or lost).
    var allFinished: Bool {
        stats.allSatisfy { $0.state.withLock { $0.finished } }
    }

    /// Takes what the workers recorded since the last collection into `interval` (reset first) and `total`.
    private mutating func collect() {
        interval.reset()
        var summed = WorkerStats.Counters()
        var allDone = true
        var errors: [String] = []
        for index in stats.indices {
            let workerStats = stats[index]
            let (workerCounters, done, error) = workerStats.state.withLock { state in
                swap(&state.latencies, &spares[index])
                return (state.counters, state.finished, state.error)
            }
            interval.add(spares[index])
            spares[index].reset()
            summed.add(workerCounters)
            allDone = allDone && done
            if let error { errors.append(error.description) }
        }
        total.add(interval)
        counters = summed
        finished = allDone
        self.errors = errors
    }

    /// The totals so far, with the rate and p99 of the time since the previous sample.
    mutating func sample(now: UInt64) -> ProgressSample {
        collect()
        let seconds = Double(now - previousTime) / 1e9
        let qps = seconds > 0 ? Double(counters.answered - previousAnswered) / seconds : 0
        previousAnswered = counters.answered
        previousTime = now
        return ProgressSample(
            elapsedSeconds: Double(now - start) / 1e9, sent: counters.sent, answered: counters.answered,
            lost: counters.lost, qps: qps,
            p99Microseconds: interval.totalCount > 0 ? Double(interval.valueAtPercentile(99)) / 1000 : nil)
    }

    /// The final report; call after every worker has finished.
    mutating func report(_ configuration: LoadConfiguration) -> LoadReport {
        collect()
        var rcodes: [LoadReport.RCodeCount] = []
        for code in 0..<16 where counters.rcodes[code] > 0 {
            rcodes.append(LoadReport.RCodeCount(name: RCode(UInt16(code)).description, count: counters.rcodes[code]))
        }
        let duration = counters.lastActivity > start ? Double(counters.lastActivity - start) / 1e9 : 0
        let latency: LoadReport.Latency
        if total.totalCount > 0 {
            func microseconds(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1000 }
            latency = LoadReport.Latency(
                min: microseconds(total.min), p50: microseconds(total.valueAtPercentile(50)),
                p90: microseconds(total.valueAtPercentile(90)), p99: microseconds(total.valueAtPercentile(99)),
                p999: microseconds(total.valueAtPercentile(99.9)), max: microseconds(total.max))
        } else {
            latency = LoadReport.Latency(min: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0)
        }
        return LoadReport(
            configuration: configuration, sent: counters.sent, answered: counters.answered, lost: counters.lost,
            unmatched: counters.unmatched, rcodes: rcodes, durationSeconds: duration,
            qps: duration > 0 ? Double(counters.answered) / duration : 0, latency: latency,
            reconnects: counters.reconnects, errors: errors)
    }
}

/// One progress report: totals since the start, and the rate and p99 latency of the last interval.
public struct ProgressSample: Sendable, Equatable {
    public var elapsedSeconds: Double
    public var sent: UInt64
    public var answered: UInt64
    public var lost: UInt64
    /// Answers per second over the last interval.
    public var qps: Double
    /// The last interval's 99th percentile latency, nil when nothing was answered in it.
    public var p99Microseconds: Double?

    public init(
        elapsedSeconds: Double, sent: UInt64, answered: UInt64, lost: UInt64, qps: Double, p99Microseconds: Double?
    ) {
        self.elapsedSeconds = elapsedSeconds
        self.sent = sent
        self.answered = answered
        self.lost = lost
        self.qps = qps
        self.p99Microseconds = p99Microseconds
    }

    /// One line for stderr: `  3.0 s  sent 301234  qps 100412  lost 0  p99 84.2 µs`.
    public var line: String {
        let p99 = p99Microseconds.map { "\(Decimals.fixed($0, places: 1)) µs" } ?? "-"
        return
            "\(Decimals.fixed(elapsedSeconds, places: 1)) s  sent \(sent)  qps \(Decimals.fixed(qps, places: 0))"
            + "  lost \(lost)  p99 \(p99)"
    }
}
