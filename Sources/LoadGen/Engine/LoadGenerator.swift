import Glibc

/// The engine of `scdns qps`: opens the sockets, runs one worker thread per socket or connection, reports
/// progress each second from the calling thread, and builds the final report.
public enum LoadGenerator {
    /// Runs the load test described by `configuration` to its end. `progress`, when given, is called on this
    /// thread once a second with the totals so far and the last second's rate and p99.
    public static func run(
        _ configuration: LoadConfiguration, progress: ((ProgressSample) -> Void)? = nil
    ) throws(LoadGenError) -> LoadReport {
        try run(configuration, progress: progress, startLag: 0)
    }

    /// `startLag` nanoseconds backdate the start: the open loop then begins that far behind its schedule, as
    /// after a stall of the generator itself (tests use it; the public entry passes 0).
    static func run(
        _ configuration: LoadConfiguration, progress: ((ProgressSample) -> Void)?, startLag: UInt64
    ) throws(LoadGenError) -> LoadReport {
        try configuration.validate()
        let templates = QueryTemplates(configuration.queries)
        let workers = configuration.workers
        let tcp: Bool
        if case .tcp = configuration.transport { tcp = true } else { tcp = false }
        var descriptors: [Int32] = []
        do throws(LoadGenError) {
            for _ in 0..<workers {
                descriptors.append(
                    tcp ? try TCPTransport.open(configuration.server) : try UDPTransport.open(configuration.server))
            }
        } catch {
            for descriptor in descriptors { close(descriptor) }
            throw error
        }

        let timeout = UInt64(configuration.timeoutMilliseconds) * 1_000_000
        let stats = (0..<workers).map { _ in WorkerStats(latencies: WorkerStats.makeHistogram(highest: timeout)) }
        var closedLoopLimit = Int.max
        if configuration.rate == nil, case .count(let count) = configuration.limit { closedLoopLimit = count }
        let sequence = RunSequence(limit: closedLoopLimit)
        let start = MonotonicClock.now() - startLag
        var end: UInt64? = nil
        if configuration.rate == nil, case .duration(let seconds) = configuration.limit {
            end = start + UInt64(seconds * 1e9)
        }

        var threads: [pthread_t] = []
        var startError: LoadGenError? = nil
        for index in 0..<workers {
            let plan = WorkerPlan(
                index: index, workers: workers, start: start, timeout: timeout,
                concurrency: configuration.concurrency / workers
                    + (index < configuration.concurrency % workers ? 1 : 0),
                end: end, rate: configuration.rate, plannedCount: configuration.plannedCount ?? 0)
            let descriptor = descriptors[index]
            let server = configuration.server
            let workerStats = stats[index]
            do {
                threads.append(
                    try WorkerThread.start {
                        runWorker(
                            descriptor: descriptor, server: server, tcp: tcp, templates: templates, plan: plan,
                            sequence: sequence, stats: workerStats)
                    })
            } catch {
                startError = error
                for unused in descriptors[index...] { close(unused) }
                break
            }
        }

        var monitor = RunMonitor(stats: Array(stats[0..<threads.count]), start: start, highest: timeout)
        if let progress {
            var next = start + 1_000_000_000
            while !monitor.allFinished {
                let now = MonotonicClock.now()
                if now >= next {
                    progress(monitor.sample(now: now))
                    next += 1_000_000_000
                } else {
                    MonotonicClock.sleep(until: min(next, now + 20_000_000))
                }
            }
        }
        for thread in threads { WorkerThread.join(thread) }
        if let startError { throw startError }
        return monitor.report(configuration)
    }
}

/// Why a load test could not run, or stopped.
public enum LoadGenError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed: the call (and what it was for) and errno.
    case system(String, Int32)
    /// The configuration cannot be run: the reason.
    case invalid(String)

    public var description: String {
        switch self {
        case .system(let call, let code): return "\(call): \(String(cString: strerror(code)))"
        case .invalid(let reason): return reason
        }
    }
}
