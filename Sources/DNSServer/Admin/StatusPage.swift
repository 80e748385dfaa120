import DNSPipeline
import Foundation
import ServiceRegistry

/// The admin endpoint's `/` for a browser: what an operator would rather look at than read. The clusters
/// (locality, exports, health as published and as probed from here, last change), the registry (source,
/// revision, stale or not), queries per second by RCODE and the cache's hit rate over the last ten minutes as
/// small charts, and the upstreams' replies and failures. One self-contained HTML document with inline CSS and
/// SVG, no script and no external asset, which reloads itself every `refreshSeconds`.
struct StatusPage {
    struct ClusterRow: Equatable {
        var name: String
        var region: String
        var zone: String
        /// Services this cluster exports.
        var exports: Int
        /// Of those, marked unhealthy by the cluster's publisher.
        var publishedUnhealthy: Int
        /// Of those, demoted by this instance's probes; nil with probes off.
        var unreachableHere: Int?
        /// When its exports last changed since this instance started; nil if not since then.
        var lastChange: Date?
    }

    struct UpstreamRow: Equatable {
        var upstream: String
        var replies: Int
        var failures: Int
        var lastReply: Date?
        var lastFailure: Date?
        var lastFailureReason: String?
    }

    static let refreshSeconds = 5

    var title: String
    var version: String
    var locality: Locality
    var ready: (Bool, String)
    var source: String
    var revision: Int64?
    var registryVersion: UInt64
    var snapshotAge: Double
    var stale: Bool
    var services: Int
    var clusters: [ClusterRow]
    var upstreams: [UpstreamRow]
    var samples: [StatusHistory.Sample]
    var now: Date

    /// The page's model from the running server's state.
    init(
        title: String, locality: Locality, state: ServerState, history: StatusHistory,
        now: Date = Date(), clock: ContinuousClock.Instant = .now
    ) {
        self.title = title
        self.version = ScdnsServer.version
        self.locality = locality
        self.ready = state.readiness()
        self.now = now
        self.samples = history.samples
        let publisher = state.publisher
        let published = publisher?.current
        let registry = published?.registry
        source = registry?.origin ?? "not loaded yet"
        revision = registry?.revision
        registryVersion = registry?.version ?? 0
        snapshotAge = published.map { (clock - $0.at).secondsValue } ?? 0
        stale = publisher?.sourceStatus().stale ?? false
        services = registry?.services.count ?? 0
        clusters = Self.clusterRows(
            registry?.services ?? [], unreachable: publisher?.unreachable, changes: history.clusterChanges)
        upstreams = (state.metrics?.upstreamTallies ?? [:]).sorted { $0.key < $1.key }.map { upstream, tally in
            UpstreamRow(
                upstream: upstream, replies: tally.replies, failures: tally.failures, lastReply: tally.lastReply,
                lastFailure: tally.lastFailure?.at, lastFailureReason: tally.lastFailure?.reason)
        }
    }

    /// One row per cluster that exports something, by name.
    static func clusterRows(
        _ services: [Service], unreachable: [ProbeTarget: Date]?, changes: [String: Date]
    ) -> [ClusterRow] {
        var rows: [String: ClusterRow] = [:]
        for service in services {
            for export in service.clusters {
                var row =
                    rows[export.cluster]
                    ?? ClusterRow(
                        name: export.cluster, region: export.locality.region, zone: export.locality.zone, exports: 0,
                        publishedUnhealthy: 0, unreachableHere: unreachable == nil ? nil : 0,
                        lastChange: changes[export.cluster])
                row.exports += 1
                if !export.healthy { row.publishedUnhealthy += 1 }
                if let unreachable, export.healthy,
                    case .unreachable = ReachabilityPlan.reachability(of: export, in: service, down: unreachable)
                {
                    row.unreachableHere? += 1
                }
                rows[export.cluster] = row
            }
        }
        return rows.values.sorted { $0.name < $1.name }
    }

    // MARK: - Rates from the samples

    /// Responses per second of each charted series between consecutive samples: (time, rates).
    var responseRates: [(at: Date, rates: [Double])] {
        zip(samples, samples.dropFirst()).map { earlier, later in
            // The monotonic clock: a wall-clock step would make a spike of one sample.
            let seconds = max((later.taken - earlier.taken).secondsValue, 0.001)
            return (
                later.at,
                zip(earlier.responses, later.responses).map { Double($1 &- $0) / seconds }
            )
        }
    }

    /// The cache's hit rate (0...1) between consecutive samples that forwarded anything.
    var cacheHitRates: [(at: Date, rate: Double)] {
        zip(samples, samples.dropFirst()).compactMap { earlier, later in
            guard let before = earlier.cache, let after = later.cache else { return nil }
            let hits = after.hits - before.hits
            let lookups = hits + after.misses - before.misses
            return lookups > 0 ? (later.at, Double(hits) / Double(lookups)) : nil
        }
    }

    // MARK: - HTML

    static let seriesNames = StatusHistory.rcodes.map(\.name) + ["other"]
    static let seriesColours = ["#2e7d32", "#1565c0", "#c62828", "#ef6c00", "#757575"]

    func html() -> String {
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="refresh" content="\(Self.refreshSeconds)">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>scdns \(escape(title))</title>
            <style>
            body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
            h1{font-size:1.3em;margin:0 0 .2em}h2{font-size:1.05em;margin:1.4em 0 .4em}
            .sub{color:#666}.ok{color:#2e7d32}.bad{color:#c62828;font-weight:600}.warn{color:#ef6c00}
            table{border-collapse:collapse;background:#fff}th,td{padding:.3em .8em;border-bottom:1px solid #e0e0e0;text-align:left}
            th{background:#f0f0f0;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
            svg{background:#fff;border:1px solid #e0e0e0}.legend span{margin-right:1.2em;white-space:nowrap}
            .swatch{display:inline-block;width:.8em;height:.8em;margin-right:.3em;vertical-align:-.05em}
            </style></head><body>

            """
        // `/ready`'s own words: "ready", "ready (registry stale, within 60s)", or why not.
        let readiness = "<span class=\"\(ready.0 ? "ok" : "bad")\" id=\"ready\">\(escape(ready.1))</span>"
        page += """
            <h1>scdns \(escape(title))</h1>
            <div class="sub">version \(escape(version)) · \(escape(localityText(locality))) · \(readiness) · \
            \(Self.timestamp(now))</div>

            """
        page += registrySection()
        page += clustersSection()
        page += trafficSection()
        page += upstreamSection()
        page += "</body></html>\n"
        return page
    }

    private func registrySection() -> String {
        let freshness =
            stale
            ? "<span class=\"bad\">stale</span> (the source is unreachable; the last snapshot is served)"
            : "<span class=\"ok\">current</span>"
        let revisionText = revision.map { "revision \($0)" } ?? "version \(registryVersion)"
        return """
            <h2>Registry</h2>
            <table id="registry"><tr><th>source</th><td>\(escape(source))</td></tr>
            <tr><th>snapshot</th><td>\(revisionText), \(services) services, changed \(Self.duration(snapshotAge)) ago</td></tr>
            <tr><th>state</th><td>\(freshness)</td></tr></table>

            """
    }

    private func clustersSection() -> String {
        var html = """
            <h2>Clusters</h2>
            <table id="clusters"><tr><th>cluster</th><th>region</th><th>zone</th><th>exports</th>\
            <th>unhealthy (published)</th><th>unreachable from here</th><th>last change</th></tr>

            """
        if clusters.isEmpty {
            html += "<tr><td colspan=\"7\">no exports in the registry</td></tr>\n"
        }
        for row in clusters {
            let own = row.name == locality.cluster ? " (this cluster)" : ""
            let unhealthy =
                row.publishedUnhealthy == 0 ? "0" : "<span class=\"warn\">\(row.publishedUnhealthy)</span>"
            let unreachable =
                switch row.unreachableHere {
                case nil: "<span class=\"sub\">probes off</span>"
                case 0?: "<span class=\"ok\">0</span>"
                case let count?: "<span class=\"bad\">\(count)</span>"
                }
            let change = row.lastChange.map { "\(Self.duration(now.timeIntervalSince($0))) ago" } ?? "not since start"
            html += """
                <tr data-cluster="\(escape(row.name))"><td>\(escape(row.name))\(own)</td><td>\(escape(row.region))</td>\
                <td>\(escape(row.zone))</td><td class="n">\(row.exports)</td><td class="n">\(unhealthy)</td>\
                <td class="n">\(unreachable)</td><td>\(change)</td></tr>

                """
        }
        return html + "</table>\n"
    }

    private func trafficSection() -> String {
        let rates = responseRates
        let latest = rates.last?.rates ?? Array(repeating: 0, count: Self.seriesNames.count)
        var html = "<h2>Queries per second, by RCODE, last 10 minutes</h2>\n<div class=\"legend\">"
        for (index, name) in Self.seriesNames.enumerated() {
            html +=
                "<span><i class=\"swatch\" style=\"background:\(Self.seriesColours[index])\"></i>\(name) "
                + "\(Self.rate(latest[index]))/s</span>"
        }
        html += "</div>\n"
        html += chart(
            id: "qps", height: 180,
            series: (0..<Self.seriesNames.count).map { index in rates.map { ($0.at, $0.rates[index]) } },
            colours: Self.seriesColours, unit: "/s", fixedMaximum: nil)
        let hitRates = cacheHitRates
        html += "<h2>Cache hit rate, last 10 minutes</h2>\n"
        if samples.last?.cache == nil {
            html += "<p class=\"sub\">no cache: nothing is forwarded</p>\n"
        } else if let last = hitRates.last {
            html += "<div class=\"legend\">now \(Int((last.rate * 100).rounded()))%</div>\n"
            html += chart(
                id: "cache", height: 90, series: [hitRates.map { ($0.at, $0.rate * 100) }], colours: ["#6a1b9a"],
                unit: "%", fixedMaximum: 100)
        } else {
            html += "<p class=\"sub\">no forwarded query in the last 10 minutes</p>\n"
        }
        return html
    }

    private func upstreamSection() -> String {
        var html = """
            <h2>Upstreams</h2>
            <table id="upstreams"><tr><th>upstream</th><th>replies</th><th>failures</th><th>last reply</th>\
            <th>last failure</th></tr>

            """
        if upstreams.isEmpty { html += "<tr><td colspan=\"5\">nothing forwarded yet</td></tr>\n" }
        for row in upstreams {
            let lastReply = row.lastReply.map { "\(Self.duration(now.timeIntervalSince($0))) ago" } ?? "never"
            let failing = row.lastFailure.map { failure in row.lastReply.map { failure > $0 } ?? true } ?? false
            let lastFailure =
                row.lastFailure.map {
                    "<span class=\"\(failing ? "bad" : "sub")\">\(escape(row.lastFailureReason ?? "")) "
                        + "\(Self.duration(now.timeIntervalSince($0))) ago</span>"
                } ?? "never"
            html += """
                <tr data-upstream="\(escape(row.upstream))"><td>\(escape(row.upstream))</td>\
                <td class="n">\(row.replies)</td><td class="n">\(row.failures)</td><td>\(lastReply)</td>\
                <td>\(lastFailure)</td></tr>

                """
        }
        return html + "</table>\n"
    }

    /// A line chart of `series` (time, value) over the last ten minutes, newest at the right, with the
    /// maximum on its axis.
    private func chart(
        id: String, height: Int, series: [[(Date, Double)]], colours: [String], unit: String, fixedMaximum: Double?
    ) -> String {
        let width = 720
        let left = 56
        let bottom = 18
        let plotWidth = Double(width - left - 8)
        let plotHeight = Double(height - bottom - 8)
        let window = Double(StatusHistory.kept - 1) * StatusHistory.interval.secondsValue
        let maximum = fixedMaximum ?? Self.niceCeiling(series.flatMap { $0.map(\.1) }.max() ?? 0)
        var svg = """
            <svg id="\(id)" xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" \
            viewBox="0 0 \(width) \(height)" role="img" aria-label="\(id) chart">
            <line x1="\(left)" y1="8" x2="\(left)" y2="\(height - bottom)" stroke="#999"/>
            <line x1="\(left)" y1="\(height - bottom)" x2="\(width - 8)" y2="\(height - bottom)" stroke="#999"/>
            <text x="\(left - 4)" y="14" font-size="11" text-anchor="end">\(Self.rate(maximum))\(unit)</text>
            <text x="\(left - 4)" y="\(height - bottom)" font-size="11" text-anchor="end">0</text>
            <text x="\(left)" y="\(height - 4)" font-size="11">−10 min</text>
            <text x="\(left + Int(plotWidth / 2))" y="\(height - 4)" font-size="11" text-anchor="middle">−5 min</text>
            <text x="\(width - 8)" y="\(height - 4)" font-size="11" text-anchor="end">now</text>

            """
        for (index, points) in series.enumerated() where !points.isEmpty {
            let coordinates = points.map { at, value in
                let x = Double(left) + plotWidth * (1 - min(max(now.timeIntervalSince(at), 0), window) / window)
                let y = 8 + plotHeight * (1 - min(value / maximum, 1))
                return "\(Self.fixed(x)),\(Self.fixed(y))"
            }
            svg +=
                "<polyline class=\"series\" fill=\"none\" stroke=\"\(colours[index])\" stroke-width=\"1.6\" "
                + "points=\"\(coordinates.joined(separator: " "))\"/>\n"
        }
        return svg + "</svg>\n"
    }

    // MARK: - Formatting

    private func localityText(_ locality: Locality) -> String {
        let parts = [locality.cluster, locality.region, locality.zone].filter { !$0.isEmpty }
        return parts.isEmpty ? "no locality set" : parts.joined(separator: " / ")
    }

    /// 1, 2 or 5 times a power of ten, at least `value` (and at least 1).
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 1 else { return 1 }
        let power = pow(10, floor(log10(value)))
        for step in [1.0, 2, 5, 10] where step * power >= value { return step * power }
        return 10 * power
    }

    static func rate(_ value: Double) -> String {
        value >= 100 || value == value.rounded() ? "\(Int(value.rounded()))" : String(format: "%.1f", value)
    }

    static func fixed(_ value: Double) -> String { String(format: "%.1f", value) }

    static func duration(_ seconds: Double) -> String {
        let whole = Int(max(seconds, 0))
        if whole < 120 { return "\(whole) s" }
        if whole < 7200 { return "\(whole / 60) min" }
        return "\(whole / 3600) h"
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: date)
    }
}

/// Text made safe for HTML element content and quoted attribute values.
private func escape(_ text: String) -> String {
    // By scalar, not Character: a quote followed by a combining mark is one Character, but still a quote.
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}
