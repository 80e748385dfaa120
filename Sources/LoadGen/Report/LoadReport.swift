/// The outcome of a run. Every query sent is either answered or lost (`sent == answered + lost`); an answer
/// is a response whose ID is in flight and whose question is the query's, within the timeout.
public struct LoadReport: Sendable, Equatable {
    /// Answers with one RCODE.
    public struct RCodeCount: Sendable, Equatable {
        /// The mnemonic: NOERROR, SERVFAIL, NXDOMAIN, ... (`RCODE6` for one without a name).
        public var name: String
        public var count: UInt64

        public init(name: String, count: UInt64) {
            self.name = name
            self.count = count
        }
    }

    /// Answer latencies in microseconds, from the HdrHistogram (three significant digits). The closed loop
    /// measures from the send, the open loop from the time the query was due (above 5,000 qps a socket, queries
    /// go in bursts every 200 µs or more, each due when its last query is).
    public struct Latency: Sendable, Equatable {
        public var min: Double
        public var p50: Double
        public var p90: Double
        public var p99: Double
        public var p999: Double
        public var max: Double
    }

    public var server: String
    /// "udp" or "tcp".
    public var transport: String
    /// Sockets (UDP) or connections (TCP).
    public var workers: Int
    /// "closed" (max rate, `concurrency` outstanding) or "open" (fixed `rate`).
    public var mode: String
    public var concurrency: Int?
    public var rate: Int?
    public var timeoutMilliseconds: Int
    public var sent: UInt64
    public var answered: UInt64
    /// Sent and not answered within the timeout.
    public var lost: UInt64
    /// Messages that answered nothing in flight: wrong ID or question, after the timeout, or not a response.
    public var unmatched: UInt64
    /// Answers by RCODE, in RCODE order, only those seen.
    public var rcodes: [RCodeCount]
    /// From the start to the last send or answer, whichever came later (waiting out lost queries excluded).
    public var durationSeconds: Double
    /// Answers per second over `durationSeconds`.
    public var qps: Double
    public var latency: Latency
    /// TCP connections the server closed and that were opened again.
    public var reconnects: UInt64
    /// Workers that stopped on an error, each error once per worker.
    public var errors: [String]

    /// Lost queries as a percentage of those sent.
    public var lostPercent: Double { sent > 0 ? Double(lost) * 100 / Double(sent) : 0 }

    init(
        configuration: LoadConfiguration, sent: UInt64, answered: UInt64, lost: UInt64, unmatched: UInt64,
        rcodes: [RCodeCount], durationSeconds: Double, qps: Double, latency: Latency, reconnects: UInt64,
        errors: [String]
    ) {
        server = configuration.server.description
        if case .tcp = configuration.transport { transport = "tcp" } else { transport = "udp" }
        workers = configuration.workers
        mode = configuration.rate == nil ? "closed" : "open"
        concurrency = configuration.rate == nil ? configuration.concurrency : nil
        rate = configuration.rate
        timeoutMilliseconds = configuration.timeoutMilliseconds
        self.sent = sent
        self.answered = answered
        self.lost = lost
        self.unmatched = unmatched
        self.rcodes = rcodes
        self.durationSeconds = durationSeconds
        self.qps = qps
        self.latency = latency
        self.reconnects = reconnects
        self.errors = errors
    }

    /// The count of answers with RCODE `name` (0 when none).
    public func count(of name: String) -> UInt64 {
        rcodes.first { $0.name == name }?.count ?? 0
    }
}
