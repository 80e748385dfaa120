import Foundation
import XCTest

/// The admin endpoint's status page (`/`, `/status`), loaded in a real browser: headless Chromium from Debian's
/// packages renders it against a running scdns with three clusters (one unreachable from here by the probes,
/// one marked unhealthy by its publisher), a failing upstream and some traffic.
final class StatusPageTests: XCTestCase {
    func testABrowserShowsTheClustersTheTrafficChartAndTheUpstreams() async throws {
        let directory = NSTemporaryDirectory() + "scdns-status-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory + "/zones", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try LoopbackPort.reserve()
        let upstreamPort = try LoopbackPort.reserve()
        try """
        services:
          - name: web
            namespace: shop
            ports: [{ name: http, port: \(port) }]
            clusters:
              - { cluster: c1, region: r1, zone: r1a, addresses: [127.0.0.2] }
              - { cluster: c2, region: r1, zone: r1b, addresses: [127.0.0.3] }
              - { cluster: c3, region: r2, zone: r2a, addresses: [127.0.0.4], healthy: false }
        """.write(toFile: directory + "/registry.yaml", atomically: true, encoding: .utf8)
        try """
        zones: zones
        registry: { file: registry.yaml }
        identity: dns-c1-0
        locality: { cluster: c1, region: r1, zone: r1a }
        health: { probes: true, interval: 200ms, timeout: 100ms, fall: 2, rise: 2 }
        forward: [{ zone: example.test, upstreams: [127.0.0.1:\(upstreamPort)], tryTimeout: 100ms, timeout: 300ms }]
        """.write(toFile: directory + "/scdns.yaml", atomically: true, encoding: .utf8)
        let c1 = try ReachabilityIntegrationTests.Listener("127.0.0.2", port: port)
        defer { c1.stop() }
        let server = try ServerProcess(arguments: ["--config", directory + "/scdns.yaml"])
        let admin = try server.adminPort()
        // c2 refuses the probes: unreachable from here.
        try server.awaitLog(matching: #"target=127\.0\.0\.3:\#(port) .*unreachable from here"#)
        // Traffic over two samples (5 s apart): answers, and a forwarded name whose upstream does not answer.
        let clock = ContinuousClock()
        let trafficEnds = clock.now + .seconds(6)
        while clock.now < trafficEnds {
            _ = try Tools.dig(port: server.port, ["+tries=1", "+time=1", "web.shop.svc.supercluster.local", "A"])
            _ = try Tools.dig(port: server.port, ["+tries=1", "+time=1", "nope.shop.svc.supercluster.local", "A"])
            try await Task.sleep(for: .milliseconds(50))
        }
        _ = try Tools.dig(port: server.port, ["+tries=1", "+time=2", "www.example.test", "A"])

        // Plain clients get the index; a browser's Accept gets the page; /status always does.
        XCTAssertTrue(try AdminClient.get("/", port: admin).body.hasPrefix("scdns admin endpoint"))
        let page = try AdminClient.get("/status", port: admin)
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.headers.lowercased().contains("content-type: text/html"), page.headers)
        for external in ["<script", "src=", "href=", "@import", "url("] {
            XCTAssertFalse(page.body.contains(external), "self-contained: no \(external) in the page")
        }

        let browser = try Chromium()
        let dom = try browser.dumpDOM("http://127.0.0.1:\(admin)/")
        XCTAssertTrue(dom.contains("<h1>scdns dns-c1-0</h1>"), dom)
        let rows = Chromium.elements(dom, tag: "tr", attribute: "data-cluster")
        XCTAssertEqual(rows.map(\.value), ["c1", "c2", "c3"], dom)
        let cells = rows.map { Chromium.cellTexts($0.html) }
        XCTAssertEqual(cells[0], ["c1 (this cluster)", "r1", "r1a", "1", "0", "0", "not since start"])
        XCTAssertEqual(cells[1][5], "1", "c2 is unreachable from here: \(cells[1])")
        XCTAssertEqual(cells[2][4], "1", "c3 is published unhealthy: \(cells[2])")
        XCTAssertEqual(cells[2][5], "0", "c3 is not probed (a probe only demotes): \(cells[2])")
        // The chart: one polyline per RCODE series, with points, NOERROR's above zero at some time.
        let chart = try XCTUnwrap(Chromium.elements(dom, tag: "svg", attribute: "id").first { $0.value == "qps" })
        let lines = Chromium.elements(chart.html, tag: "polyline", attribute: "points")
        XCTAssertEqual(lines.count, 5, chart.html)
        let noerror = lines[0].value.split(separator: " ").compactMap {
            $0.split(separator: ",").last.flatMap { Double($0) }
        }
        XCTAssertFalse(noerror.isEmpty, chart.html)
        XCTAssertTrue(noerror.contains { $0 < 162 }, "a NOERROR rate above zero is plotted: \(lines[0].value)")
        let upstreams = Chromium.elements(dom, tag: "tr", attribute: "data-upstream")
        XCTAssertEqual(upstreams.map(\.value), ["127.0.0.1:\(upstreamPort)"], dom)
        XCTAssertTrue(
            upstreams.first.map { Chromium.cellTexts($0.html)[2] != "0" } ?? false,
            "the upstream's failures are counted: \(upstreams)")

        // It renders to pixels: a screenshot of the page, a PNG of some size.
        let screenshot = try browser.screenshot("http://127.0.0.1:\(admin)/", width: 1000, height: 900)
        XCTAssertEqual(Array(screenshot.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "a PNG")
        XCTAssertGreaterThan(screenshot.count, 20_000, "a rendered page, not a blank one")
        // To look at it: SCDNS_STATUS_SCREENSHOT=/tmp/status.png swift test --filter StatusPageTests
        if let keep = ProcessInfo.processInfo.environment["SCDNS_STATUS_SCREENSHOT"] {
            try Data(screenshot).write(to: URL(fileURLWithPath: keep))
        }
    }
}

/// Headless Chromium (Debian's `chromium`), run once per call with a profile of its own. A missing browser
/// fails the test loudly: `make test` installs it.
struct Chromium {
    let executable: String
    let profile: String

    init(file: StaticString = #filePath, line: UInt = #line) throws {
        guard let executable = Tools.path(of: "chromium") else {
            XCTFail("chromium is not installed: run `make test-deps`", file: file, line: line)
            throw TestFailure("chromium missing")
        }
        self.executable = executable
        profile = NSTemporaryDirectory() + "scdns-chromium-" + UUID().uuidString
    }

    /// Runs the browser on `url` with `arguments`; returns its standard output.
    private func run(_ arguments: [String], _ url: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        // As root (the test machine), Chromium runs only without its sandbox.
        process.arguments =
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                "--user-data-dir=\(profile)", "--timeout=10000",
            ] + arguments + [url]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        defer { try? FileManager.default.removeItem(atPath: profile) }
        guard process.terminationStatus == 0 else { throw TestFailure("chromium exited \(process.terminationStatus)") }
        return String(decoding: data, as: UTF8.self)
    }

    /// The page's DOM after the browser parsed and laid it out, serialized.
    func dumpDOM(_ url: String) throws -> String { try run(["--dump-dom"], url) }

    /// A PNG of the page at `width` x `height`.
    func screenshot(_ url: String, width: Int, height: Int) throws -> [UInt8] {
        let path = NSTemporaryDirectory() + "scdns-status-" + UUID().uuidString + ".png"
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try run(["--screenshot=\(path)", "--window-size=\(width),\(height)", "--hide-scrollbars"], url)
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Each `<tag ... attribute="value" ...>...</tag>` in `html` (not nested in one another): the value and the
    /// element's whole text.
    static func elements(_ html: String, tag: String, attribute: String) -> [(value: String, html: String)] {
        let pattern = #"<\#(tag)\b[^>]*\b\#(attribute)="([^"]*)"[^>]*>(.*?)</\#(tag)>"#
        guard let regex = try? NSRegularExpression(pattern: pattern, options: [.dotMatchesLineSeparators]) else {
            return []
        }
        let range = NSRange(html.startIndex..., in: html)
        return regex.matches(in: html, range: range).compactMap { match in
            guard let value = Range(match.range(at: 1), in: html), let whole = Range(match.range, in: html) else {
                return nil
            }
            return (String(html[value]), String(html[whole]))
        }
    }

    /// The text of each `<td>` of a row, tags stripped.
    static func cellTexts(_ row: String) -> [String] {
        guard
            let regex = try? NSRegularExpression(
                pattern: #"<td\b[^>]*>(.*?)</td>"#, options: [.dotMatchesLineSeparators])
        else { return [] }
        let range = NSRange(row.startIndex..., in: row)
        return regex.matches(in: row, range: range).compactMap { match in
            Range(match.range(at: 1), in: row).map {
                String(row[$0]).replacingOccurrences(of: #"<[^>]+>"#, with: "", options: .regularExpression)
            }
        }
    }
}
