/// Everything a load test needs, already parsed and checked by `validate()`.
public struct LoadConfiguration: Sendable {
    /// How the queries travel.
    public enum Transport: Sendable, Equatable {
        /// UDP over this many sockets, each with its own thread and source port.
        case udp(sockets: Int)
        /// TCP with 2-octet length framing, queries pipelined over this many connections, one thread each.
        case tcp(connections: Int)
    }

    /// When the run stops sending.
    public enum Limit: Sendable, Equatable {
        /// Send for this many seconds.
        case duration(Double)
        /// Send exactly this many queries.
        case count(Int)
    }

    public var server: ServerAddress
    /// Sent in this order, looping; at least one.
    public var queries: [QuerySpec]
    public var limit: Limit
    /// Queries per second for the open loop (sends on schedule whether or not answers came); nil for the closed
    /// loop, which keeps `concurrency` queries outstanding and sends as fast as answers come back.
    public var rate: Int?
    /// Queries outstanding at once in the closed loop, split over the sockets or connections.
    public var concurrency: Int
    public var transport: Transport
    /// After this many milliseconds without an answer a query counts as lost.
    public var timeoutMilliseconds: Int

    public init(
        server: ServerAddress, queries: [QuerySpec], limit: Limit = .duration(10), rate: Int? = nil,
        concurrency: Int = 100, transport: Transport = .udp(sockets: 1), timeoutMilliseconds: Int = 1000
    ) {
        self.server = server
        self.queries = queries
        self.limit = limit
        self.rate = rate
        self.concurrency = concurrency
        self.transport = transport
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// The number of sockets (UDP) or connections (TCP), one worker thread each.
    public var workers: Int {
        switch transport {
        case .udp(let sockets): return sockets
        case .tcp(let connections): return connections
        }
    }

    /// Checks the values against each other; the first problem is the error.
    public func validate() throws(LoadGenError) {
        guard !queries.isEmpty else { throw .invalid("no queries to send") }
        guard (1...256).contains(workers) else { throw .invalid("--sockets and --connections must be 1 to 256") }
        switch limit {
        case .duration(let seconds):
            guard seconds > 0, seconds <= 86_400 else { throw .invalid("--duration must be over 0 and at most 86400") }
        case .count(let count):
            guard count > 0 else { throw .invalid("--count must be at least 1") }
        }
        if let rate {
            guard rate > 0, rate <= 100_000_000 else { throw .invalid("--rate must be 1 to 100000000") }
        } else {
            guard concurrency >= workers else {
                throw .invalid("--concurrency (\(concurrency)) must be at least the number of sockets or connections")
            }
            // Each socket or connection has its own 16-bit ID space.
            guard (concurrency + workers - 1) / workers <= 65_535 else {
                throw .invalid("--concurrency allows at most 65535 outstanding queries per socket or connection")
            }
        }
        guard (1...600_000).contains(timeoutMilliseconds) else { throw .invalid("--timeout must be 1 to 600000 ms") }
    }

    /// How many queries the run sends when that is known in advance: the count, or the open loop's rate times
    /// its duration (the schedule is fixed, so that is exact).
    var plannedCount: Int? {
        switch limit {
        case .count(let count): return count
        case .duration(let seconds): return rate.map { Int((Double($0) * seconds).rounded()) }
        }
    }
}
