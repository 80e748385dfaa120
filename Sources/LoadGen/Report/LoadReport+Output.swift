extension LoadReport {
    /// The report for a person, one figure a line; latencies in microseconds.
    public var text: String {
        let socketWord =
            transport == "tcp" ? (workers == 1 ? "connection" : "connections") : (workers == 1 ? "socket" : "sockets")
        let how =
            mode == "open"
            ? "open loop at \(rate ?? 0) qps" : "closed loop with \(concurrency ?? 0) outstanding"
        let codes = rcodes.isEmpty ? "-" : rcodes.map { "\($0.name) \($0.count)" }.joined(separator: ", ")
        var lines = [
            "scdns qps: \(server) over \(transport.uppercased()) (\(workers) \(socketWord)), \(how)",
            row("sent", "\(sent)"),
            row("answered", "\(answered)"),
            row("lost", "\(lost) (\(Decimals.fixed(lostPercent, places: 2))%, timeout \(timeoutMilliseconds) ms)"),
            row("unmatched", "\(unmatched)"),
            row("rcodes", codes),
            row("duration", "\(Decimals.fixed(durationSeconds, places: 3)) s"),
            row("qps", Decimals.fixed(qps, places: 1)),
            row(
                "latency µs",
                "min \(us(latency.min))  p50 \(us(latency.p50))  p90 \(us(latency.p90))  p99 \(us(latency.p99))"
                    + "  p99.9 \(us(latency.p999))  max \(us(latency.max))"),
        ]
        if reconnects > 0 { lines.append(row("reconnects", "\(reconnects)")) }
        for error in errors { lines.append(row("error", error)) }
        return lines.joined(separator: "\n")
    }

    private func row(_ label: String, _ value: String) -> String {
        label + String(repeating: " ", count: max(1, 12 - label.count)) + value
    }

    private func us(_ value: Double) -> String { Decimals.fixed(value, places: 1) }
}

extension LoadReport {
    /// The report as one JSON object on one line, keys in this order:
    ///
    /// - `server` (string), `transport` ("udp" or "tcp"), `workers` (sockets or connections), `mode` ("closed"
    ///   or "open"), `concurrency` (closed loop, else null), `rate` (open loop qps, else null), `timeout_ms`;
    /// - `sent`, `answered`, `lost`, `lost_percent`, `unmatched` (responses that matched no query in flight);
    /// - `rcodes`: an object from RCODE name ("NOERROR", "NXDOMAIN", ...) to the number of answers, only
    ///   those seen;
    /// - `duration_s` (start to the last send or answer), `qps` (answers per second over it);
    /// - `latency_us`: `min`, `p50`, `p90`, `p99`, `p99_9`, `max` in microseconds (0 when nothing was answered);
    /// - `reconnects` (TCP), `errors` (an array of strings, empty when none).
    public var json: String {
        var fields: [String] = []
        func add(_ key: String, _ value: String) { fields.append("\"\(key)\":\(value)") }
        add("server", Self.quoted(server))
        add("transport", Self.quoted(transport))
        add("workers", "\(workers)")
        add("mode", Self.quoted(mode))
        add("concurrency", concurrency.map { "\($0)" } ?? "null")
        add("rate", rate.map { "\($0)" } ?? "null")
        add("timeout_ms", "\(timeoutMilliseconds)")
        add("sent", "\(sent)")
        add("answered", "\(answered)")
        add("lost", "\(lost)")
        add("lost_percent", Decimals.fixed(lostPercent, places: 3))
        add("unmatched", "\(unmatched)")
        add("rcodes", "{" + rcodes.map { "\(Self.quoted($0.name)):\($0.count)" }.joined(separator: ",") + "}")
        add("duration_s", Decimals.fixed(durationSeconds, places: 6))
        add("qps", Decimals.fixed(qps, places: 1))
        let percentiles = [
            ("min", latency.min), ("p50", latency.p50), ("p90", latency.p90), ("p99", latency.p99),
            ("p99_9", latency.p999), ("max", latency.max),
        ]
        add(
            "latency_us",
            "{" + percentiles.map { "\"\($0.0)\":\(Decimals.fixed($0.1, places: 3))" }.joined(separator: ",") + "}")
        add("reconnects", "\(reconnects)")
        add("errors", "[" + errors.map(Self.quoted).joined(separator: ",") + "]")
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// A JSON string literal.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}

/// Fixed-point formatting of non-negative figures without Foundation.
enum Decimals {
    /// `value` rounded to `places` decimals: `fixed(2.345, places: 1)` is "2.3".
    static func fixed(_ value: Double, places: Int) -> String {
        guard value.isFinite else { return "0" }
        var scale: Double = 1
        for _ in 0..<places { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e18 else { return String(value) }
        let whole = UInt64(scaled)
        let unit = UInt64(scale)
        let sign = value < 0 && whole > 0 ? "-" : ""
        guard places > 0 else { return sign + String(whole) }
        let fraction = String(whole % unit)
        return sign + String(whole / unit) + "." + String(repeating: "0", count: places - fraction.count) + fraction
    }
}
