import ArgumentParser
import Foundation
import Logging
import RegistryEtcd
import ServiceRegistry
import UnixSignals

/// `scdns registry ...`: the etcd registry from the operator's side (DESIGN.md section 6).
struct Registry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read, change, watch and publish the service registry in etcd.",
        subcommands: [List.self, Get.self, Put.self, Delete.self, Watch.self, Publish.self])
}

/// `--etcd` and `--prefix`, shared by every registry subcommand.
struct EtcdOptions: ParsableArguments {
    @Option(name: .long, help: "etcd endpoint http(s)://HOST:PORT; repeat for several (tried in turn).")
    var etcd: [String] = ["http://127.0.0.1:2379"]

    @Option(name: .long, help: "Where the registry lives in etcd.")
    var prefix: String = RegistryKeyLayout.defaultPrefix

    @OptionGroup var security: EtcdSecurityOptions

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func tool() throws -> RegistryTool {
        RegistryTool(client: try client(logger: makeLogger()), layout: RegistryKeyLayout(prefix: prefix))
    }

    func client(logger: Logger) throws -> EtcdClient {
        do {
            return try EtcdClient(endpoints: etcd, security: security.applied(to: EtcdSecurity()), logger: logger)
        } catch {
            throw ValidationError("etcd: \(error)")
        }
    }

    /// Sets up logging to standard error; call once per process (swift-log allows one bootstrap).
    func makeLogger() -> Logger {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: "scdns")
    }
}

/// Runs a registry operation, printing its error (not a stack of types) and exiting 1 when it fails.
func runRegistryCommand(_ tool: RegistryTool, _ body: (RegistryTool) async throws -> Void) async throws {
    do {
        try await body(tool)
    } catch {
        printError("scdns registry: \(error)")
        throw ExitCode.failure
    }
}

extension Registry {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every export with the etcd revision, its lease and whether it is valid.")
        @OptionGroup var options: EtcdOptions
        @Argument(help: "Only this namespace.") var namespace: String?

        func run() async throws {
            try await runRegistryCommand(try options.tool()) { tool in
                for line in try await tool.list(namespace: namespace) { print(line) }
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print an export's JSON (NAMESPACE/NAME/CLUSTER), or every cluster's (NAMESPACE/NAME).")
        @OptionGroup var options: EtcdOptions
        @Argument var path: String

        func run() async throws {
            try await runRegistryCommand(try options.tool()) { tool in
                for line in try await tool.get(path) { print(line) }
            }
        }
    }

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate and write one export (flat JSON, DESIGN.md section 2), with no lease.")
        @OptionGroup var options: EtcdOptions
        @Argument(help: "NAMESPACE/NAME/CLUSTER") var path: String
        @Argument(help: "The export's JSON; '-' or nothing reads it from standard input.") var value: String?

        func run() async throws {
            let text =
                value == nil || value == "-"
                ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : value!
            try await runRegistryCommand(try options.tool()) { tool in
                print("revision \(try await tool.put(path, value: text))")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete an export (NAMESPACE/NAME/CLUSTER) or every cluster's export of a service.")
        @OptionGroup var options: EtcdOptions
        @Argument var path: String

        func run() async throws {
            try await runRegistryCommand(try options.tool()) { tool in
                print("deleted \(try await tool.delete(path))")
            }
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print each change as REVISION PUT|DELETE NAMESPACE/NAME/CLUSTER [JSON] until interrupted.")
        @OptionGroup var options: EtcdOptions
        @Option(help: "Start at this revision (default: the next change).") var revision: Int64?

        func run() async throws {
            try await runRegistryCommand(try options.tool()) { tool in
                // Written straight to the descriptor so each line shows at once even when piped.
                try await tool.watch(from: revision) { line in
                    FileHandle.standardOutput.write(Data((line + "\n").utf8))
                }
            }
        }
    }

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish this cluster's exports from a registry file under a lease kept alive until stopped.",
            discussion: """
                The file uses the registry schema; every export in it must be of --cluster. Each change to the \
                file is published again, replacing the cluster's set in one transaction. When the publisher \
                stops, the lease runs out after --lease-ttl seconds and the exports disappear. A changed file \
                is taken once two looks a second apart find it unchanged; an empty file, or one with no export \
                of --cluster, is refused (--allow-empty publishes an empty set). Write the file aside and rename \
                it into place. One publisher per cluster publishes at a time: another one started for the same \
                cluster waits, and takes over when this one stops (SIGTERM or SIGINT give the claim up at once) \
                or its lease runs out. With --check, the publisher also checks each export from here (a TCP \
                connect or an HTTP GET to its addresses) and publishes one that fails unhealthy, so that every \
                instance stops answering it within seconds, not a lease TTL.
                """)
        @OptionGroup var options: EtcdOptions
        @Option(help: "The cluster whose exports these are.") var cluster: String
        @Option(help: "Registry file (YAML or JSON) with this cluster's exports.") var file: String
        @Option(help: "Lease TTL in seconds, 3...3600.") var leaseTTL: Int64 = 15
        @Flag(help: "Publish a file with no export of --cluster, deleting every export it has (refused otherwise).")
        var allowEmpty = false
        @Option(
            help: ArgumentHelp(
                "Check exports from here: SPEC for every service, or NAMESPACE/NAME=SPEC for one; repeatable.",
                discussion: """
                    SPEC is tcp, tcp:PORT, http:/PATH, http:PORT/PATH or none (the service's first TCP port when \
                    no PORT). An export whose addresses all fail --check-fall checks in a row is published \
                    unhealthy (a Headless endpoint not ready) until it passes --check-rise in a row.
                    """))
        var check: [String] = []
        @Option(
            help: ArgumentHelp(
                "An address in this cluster that instances elsewhere probe (TCP) to tell whether the cluster is "
                    + "reachable from them: ADDRESS:PORT or [ADDRESS]:PORT; repeatable.",
                discussion: "Give the cluster's scdns instances' DNS address (port 53 over TCP), or a gateway's."))
        var beacon: [String] = []
        @Option(help: "Seconds between two checks of one address, 0.1...3600.") var checkInterval: Double = 2
        @Option(help: "Seconds a check may take, at most --check-interval.") var checkTimeout: Double = 1
        @Option(help: "Failures in a row that publish an export unhealthy, 1...100.") var checkFall: Int = 3
        @Option(help: "Successes in a row that publish it healthy again, 1...100.") var checkRise: Int = 2

        func validate() throws {
            // One etcd call may take up to its 3 s timeout: a shorter lease can run out between its grant and the
            // first keep-alive, taking every export with it.
            guard (3...3600).contains(leaseTTL) else {
                throw ValidationError("--lease-ttl is 3...3600 seconds (one etcd call may take 3 s)")
            }
            _ = try checkSettings()
            _ = try beacons()
        }

        func beacons() throws -> [ProbeTarget] {
            try beacon.map { text in
                guard let target = ProbeTarget(text) else {
                    throw ValidationError("--beacon \(text): not ADDRESS:PORT or [ADDRESS]:PORT")
                }
                return target
            }
        }

        /// The checks asked for, nil when none.
        func checkSettings() throws -> ExportCheckSettings? {
            let plan: ExportCheckPlan
            do throws(CheckPlanError) { plan = try ExportCheckPlan(arguments: check) } catch {
                throw ValidationError(error.description)
            }
            guard (0.1...3600).contains(checkInterval) else {
                throw ValidationError("--check-interval is 0.1...3600 seconds")
            }
            guard checkTimeout > 0, checkTimeout <= checkInterval else {
                throw ValidationError(
                    "--check-timeout is more than 0 and at most --check-interval (\(checkInterval) s)")
            }
            guard (1...100).contains(checkFall), (1...100).contains(checkRise) else {
                throw ValidationError("--check-fall and --check-rise are 1...100")
            }
            guard !plan.isEmpty else { return nil }
            return ExportCheckSettings(
                plan: plan, interval: .seconds(checkInterval), timeout: .seconds(checkTimeout), fall: checkFall,
                rise: checkRise)
        }

        func run() async throws {
            let logger = options.makeLogger()
            let client = try options.client(logger: logger)
            let publisher = RegistryPublisher(
                client: client, layout: RegistryKeyLayout(prefix: options.prefix), cluster: cluster,
                leaseTTL: leaseTTL, beacons: try beacons(), logger: logger)
            do {
                // SIGTERM or SIGINT stops the publisher, which gives its claim up so that the next one takes over
                // before this one's lease (and so its exports) runs out.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    let checks = try checkSettings()
                    group.addTask { try await publisher.run(file: file, allowEmpty: allowEmpty, checks: checks) }
                    group.addTask {
                        for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) { break }
                    }
                    defer { group.cancelAll() }
                    try await group.next()
                    group.cancelAll()
                    // The publisher's own end: it gives the claim up as it goes.
                    do { try await group.next() } catch is CancellationError {}
                }
            } catch {
                printError("scdns registry publish: \(error)")
                throw ExitCode.failure
            }
        }
    }
}
