import ArgumentParser
import Foundation
import LoadGen

struct Qps: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load-test a DNS server over UDP or TCP and report rate, loss, rcodes and latency.",
        discussion: """
            Without --rate the loop is closed: --concurrency queries stay outstanding and each answer sends the \
            next. With --rate the loop is open: queries go out on schedule whether or not answers came, and \
            latency counts from each query's due time (above 5000 qps a socket they go in bursts every 200 µs, \
            due when the burst's last query is). Latencies are in microseconds. --json prints one object \
            with the keys server, transport, workers, mode, concurrency, rate, timeout_ms, sent, answered, lost, \
            lost_percent, unmatched, rcodes (name to count), duration_s, qps, latency_us (min, p50, p90, p99, \
            p99_9, max), reconnects and errors. Exits non-zero when nothing was answered.
            """)

    @Option(help: "The server, ADDRESS:PORT (an IPv6 address in brackets: [::1]:53).")
    var server: String

    @Option(help: "A dnsperf query file: 'NAME TYPE' a line, '#' comments; sent in order, looping.")
    var queries: String?

    @Option(help: "The one name to query (with --type), instead of --queries.")
    var name: String?

    @Option(help: "The type for --name: A, AAAA, SRV, ... or TYPEnn.")
    var type: String?

    @Option(help: "Seconds to send for (default 10).")
    var duration: Double?

    @Option(help: "Queries to send, instead of --duration.")
    var count: Int?

    @Option(help: "Queries per second, open loop (default: as fast as answers come, closed loop).")
    var rate: Int?

    @Option(help: "Outstanding queries in the closed loop.")
    var concurrency: Int = 100

    @Option(help: "UDP sockets, one thread each.")
    var sockets: Int = 1

    @Flag(help: "Send over TCP, pipelined, instead of UDP.")
    var tcp = false

    @Option(help: "TCP connections with --tcp, one thread each.")
    var connections: Int = 1

    @Option(help: "Milliseconds after which a query without an answer counts as lost.")
    var timeout: Int = 1000

    @Flag(help: "Report progress on stderr each second even when stderr is not a terminal.")
    var progress = false

    @Flag(help: "Print the report as one JSON object on stdout.")
    var json = false

    func validate() throws {
        guard ServerAddress(server) != nil else {
            throw ValidationError("--server '\(server)' is not ADDRESS:PORT (an IPv6 address goes in brackets)")
        }
        guard (queries == nil) != (name == nil) else { throw ValidationError("give either --queries or --name") }
        guard (name == nil) == (type == nil) else { throw ValidationError("--name and --type go together") }
        guard duration == nil || count == nil else { throw ValidationError("give --duration or --count, not both") }
        if !tcp && connections != 1 { throw ValidationError("--connections needs --tcp (UDP uses --sockets)") }
        if tcp && sockets != 1 { throw ValidationError("--sockets is for UDP (TCP uses --connections)") }
    }

    func run() throws {
        let specs: [QuerySpec]
        do {
            if let queries {
                specs = try QueryFile.load(path: queries)
            } else {
                specs = [try QuerySpec(name: name!, type: type!)]
            }
        } catch {
            printError("scdns qps: \(error)")
            throw ExitCode.failure
        }
        let configuration = LoadConfiguration(
            server: ServerAddress(server)!, queries: specs,
            limit: count.map { .count($0) } ?? .duration(duration ?? 10), rate: rate, concurrency: concurrency,
            transport: tcp ? .tcp(connections: connections) : .udp(sockets: sockets), timeoutMilliseconds: timeout)
        let report: LoadReport
        do {
            let showProgress = progress || isatty(STDERR_FILENO) == 1
            report = try LoadGenerator.run(configuration, progress: showProgress ? { printError($0.line) } : nil)
        } catch .invalid(let reason) {
            throw ValidationError(reason)
        } catch {
            printError("scdns qps: \(error)")
            throw ExitCode.failure
        }
        print(json ? report.json : report.text)
        if report.answered == 0 { throw ExitCode.failure }
    }
}
