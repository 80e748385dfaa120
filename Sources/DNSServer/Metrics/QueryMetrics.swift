import DNSPipeline
import DNSWire
import Synchronization

/// Every query counter block of the server, summed on scrape into the `scdns_dns_*` families, and the cache's
/// counters beside them. Counts are exact: a query is counted before its answer is sent, so a client that has
/// its answers sees them in the next scrape.
final class QueryMetrics: Sendable {
    /// For TCP and forwarded replies, which run on NIO's threads.
    let shared = QueryCounters(concurrent: true)
    /// Each UDP worker thread's block, with the listen address and worker number it serves.
    private let threadBlocks = Mutex<[(listen: String, worker: Int, block: QueryCounters)]>([])
    private let zoneLabels: ZoneLabels
    private let cache: ResponseCache?

    init(zoneLabels: ZoneLabels, cache: ResponseCache?) {
        self.zoneLabels = zoneLabels
        self.cache = cache
    }

    /// A block for one thread that alone writes it: worker `worker` of the UDP listeners on `listen`.
    func makeThreadCounters(listen: String, worker: Int) -> QueryCounters {
        let block = QueryCounters(concurrent: false)
        threadBlocks.withLock { $0.append((listen, worker, block)) }
        return block
    }

    /// Every block's cells added up.
    func totals() -> [UInt64] {
        var totals = [UInt64](repeating: 0, count: QueryCounters.cellCount)
        shared.accumulate(into: &totals)
        for entry in threadBlocks.withLock({ $0 }) { entry.block.accumulate(into: &totals) }
        return totals
    }

    /// The cache's hits and misses so far; nil without a cache (nothing is forwarded).
    var cacheTotals: (hits: Int, misses: Int)? {
        cache.map { ($0.hits.load(ordering: .relaxed), $0.misses.load(ordering: .relaxed)) }
    }

    /// The families in Prometheus's text format (0.0.4). Series that never moved are left out, as client
    /// libraries leave out label sets never used.
    func write(into text: inout String) {
        let totals = totals()
        let zones = zoneLabels.labels
        PrometheusText.header(
            "scdns_dns_requests_total", type: "counter",
            help: "DNS queries received, by transport, query type and zone (\".\": outside every zone).", into: &text)
        for (transport, proto) in QueryCounters.transports.enumerated() {
            for (typeSlot, type) in QueryCounters.typeNames.enumerated() {
                for (zoneSlot, zone) in zones.enumerated() {
                    let value = totals[
                        QueryCounters.requestIndex(transport: transport, typeSlot: typeSlot, zoneSlot: zoneSlot)]
                    guard value > 0 else { continue }
                    PrometheusText.sample(
                        "scdns_dns_requests_total", labels: [("proto", proto), ("type", type), ("zone", zone)],
                        value: value, into: &text)
                }
            }
        }
        PrometheusText.header(
            "scdns_dns_responses_total", type: "counter", help: "DNS responses sent, by RCODE.", into: &text)
        for rcode in 0..<QueryCounters.rcodeSlots {
            let value = totals[QueryCounters.rcodeIndex(rcode)]
            guard value > 0 else { continue }
            let name = rcode == QueryCounters.rcodeSlots - 1 ? "other" : RCode(UInt16(rcode)).description
            PrometheusText.sample("scdns_dns_responses_total", labels: [("rcode", name)], value: value, into: &text)
        }
        PrometheusText.header(
            "scdns_dns_request_duration_seconds", type: "histogram",
            help: "Time from reading a query to sending its answer (UDP: per batch of one recvmmsg).", into: &text)
        var cumulative: UInt64 = 0
        for (bucket, bound) in QueryCounters.bucketBounds.enumerated() {
            cumulative &+= totals[QueryCounters.bucketIndex(bucket)]
            PrometheusText.sample(
                "scdns_dns_request_duration_seconds_bucket", labels: [("le", PrometheusText.number(bound))],
                value: cumulative, into: &text)
        }
        cumulative &+= totals[QueryCounters.bucketIndex(QueryCounters.bucketBounds.count)]
        PrometheusText.sample(
            "scdns_dns_request_duration_seconds_bucket", labels: [("le", "+Inf")], value: cumulative, into: &text)
        PrometheusText.sample(
            "scdns_dns_request_duration_seconds_sum", labels: [],
            text: PrometheusText.number(Double(totals[QueryCounters.sumIndex]) / 1e9), into: &text)
        PrometheusText.sample("scdns_dns_request_duration_seconds_count", labels: [], value: cumulative, into: &text)
        // Per worker, how the kernel's SO_REUSEPORT hash spreads clients over the threads (Unbound's
        // thread0.num.queries): one worker far above the others means few clients, or one busy one.
        PrometheusText.header(
            "scdns_udp_worker_requests_total", type: "counter",
            help: "UDP queries received by each worker thread of a listen address.", into: &text)
        for entry in threadBlocks.withLock({ $0 }) {
            PrometheusText.sample(
                "scdns_udp_worker_requests_total",
                labels: [("listen", entry.listen), ("worker", String(entry.worker))], value: entry.block.requests(),
                into: &text)
        }
        guard let cache else { return }
        let counters: [(String, String, Int)] = [
            (
                "scdns_cache_hits_total", "Forwarded queries answered from the cache.",
                cache.hits.load(ordering: .relaxed)
            ),
            (
                "scdns_cache_misses_total", "Forwarded queries the cache could not answer (absent or expired).",
                cache.misses.load(ordering: .relaxed)
            ),
            (
                "scdns_cache_evictions_total", "Cache entries pushed out to make room.",
                cache.evictions.load(ordering: .relaxed)
            ),
            (
                "scdns_cache_stale_served_total", "Expired answers served because every upstream failed (RFC 8767).",
                cache.staleAnswers.load(ordering: .relaxed)
            ),
            (
                "scdns_cache_prefetch_total", "Cache entries refreshed before they expired.",
                cache.prefetches.load(ordering: .relaxed)
            ),
        ]
        for (name, help, value) in counters {
            PrometheusText.header(name, type: "counter", help: help, into: &text)
            PrometheusText.sample(name, labels: [], value: UInt64(max(0, value)), into: &text)
        }
    }
}

/// Prometheus's text exposition format, for the families summed here rather than kept in the collector registry.
enum PrometheusText {
    static func header(_ name: String, type: String, help: String, into text: inout String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    static func sample(_ name: String, labels: [(String, String)], value: UInt64, into text: inout String) {
        sample(name, labels: labels, text: String(value), into: &text)
    }

    static func sample(_ name: String, labels: [(String, String)], text value: String, into text: inout String) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(escaped($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " \(value)\n"
    }

    /// A float as Prometheus writes one: no exponent for the bucket bounds used here.
    static func number(_ value: Double) -> String {
        var text = String(value)
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }

    static func escaped(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }
}
