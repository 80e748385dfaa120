import ArgumentParser
import DNSServer
import Logging
import RegistryEtcd

/// Options shared by `serve` and `check`: where the config is and what flags override in it.
struct ServerOptions: ParsableArguments {
    @Option(name: .long, help: "The config file (scdns.yaml). Without it every key takes its default.")
    var config: String?

    @Option(name: .long, help: "ADDRESS:PORT to serve on, UDP and TCP; repeat for several. Overrides 'listen'.")
    var listen: [String] = []

    @Option(
        name: .long,
        help: "ADDRESS:PORT of the admin endpoint (/health, /ready, /metrics, /registry), or 'off'. Overrides 'admin'.")
    var admin: String?

    @Option(
        name: .long,
        help: "After SIGTERM, how long /ready says 503 while queries are still answered (5s, 0s). Overrides 'lameduck'."
    )
    var lameduck: String?

    @Option(name: .long, help: "Directory of master files (*.zone). Overrides 'zones'.")
    var zones: String?

    @Option(name: .long, help: "Registry file, YAML or JSON. Overrides 'registry'.")
    var registry: String?

    @Option(
        name: .long,
        help:
            "etcd endpoint http(s)://HOST:PORT of the replicated registry; repeat for several. Overrides 'registry'.")
    var etcd: [String] = []

    @Option(name: .long, help: "Where the registry lives in etcd (default /scdns/v1/, or the config's).")
    var etcdPrefix: String?

    @OptionGroup var etcdSecurity: EtcdSecurityOptions

    @Option(
        name: .long,
        help: "Log level: trace, debug, info, notice, warning, error, critical.",
        transform: { text in
            guard let level = Logger.Level(rawValue: text) else { throw ValidationError("unknown log level '\(text)'") }
            return level
        })
    var logLevel: Logger.Level = .info

    /// The config file's values with the flags applied on top.
    func loadConfig() throws -> ServerConfig {
        var loaded = try ScdnsServer.loadConfig(path: config)
        if !listen.isEmpty {
            loaded.listen = try listen.map { text in
                guard let address = ListenAddress(text) else {
                    throw ValidationError("--listen '\(text)' is not ADDRESS:PORT (an IPv6 address goes in brackets)")
                }
                return address
            }
        }
        if let admin {
            if admin == "off" {
                loaded.admin = nil
            } else {
                guard let address = ListenAddress(admin) else {
                    throw ValidationError("--admin '\(admin)' is not ADDRESS:PORT or 'off'")
                }
                loaded.admin = address
            }
        }
        if let lameduck {
            if let problem = ServerConfig.durationProblem(lameduck, ServerConfig.DurationRange.lameDuck) {
                throw ValidationError("--lameduck '\(lameduck)' \(problem)")
            }
            loaded.lameDuck = ServerConfig.parseDuration(lameduck) ?? loaded.lameDuck
        }
        if let zones { loaded.zonesDirectory = zones }
        if registry != nil && !etcd.isEmpty {
            throw ValidationError("--registry and --etcd name two registries; give one")
        }
        if let registry {
            loaded.registryFile = registry
            loaded.registryEtcd = nil
        }
        if !etcd.isEmpty {
            for endpoint in etcd {
                do { _ = try EtcdEndpoint(endpoint) } catch { throw ValidationError("--etcd: \(error)") }
            }
            // The config's other etcd settings (prefix, maxStale) stay; only the endpoints change.
            var settings = loaded.registryEtcd ?? EtcdRegistrySettings(endpoints: etcd)
            settings.endpoints = etcd
            loaded.registryEtcd = settings
        }
        if let etcdPrefix {
            guard loaded.registryEtcd != nil else { throw ValidationError("--etcd-prefix needs an etcd registry") }
            guard etcdPrefix.hasPrefix("/") else {
                throw ValidationError("--etcd-prefix '\(etcdPrefix)' does not start with '/', like /scdns/v1/")
            }
            loaded.registryEtcd?.prefix = etcdPrefix
        }
        if !etcdSecurity.isEmpty {
            guard let settings = loaded.registryEtcd else {
                throw ValidationError(
                    "--etcd-ca, --etcd-cert, --etcd-key, --etcd-user and --etcd-password-file need an etcd registry")
            }
            loaded.registryEtcd?.security = etcdSecurity.applied(to: settings.security)
        }
        return loaded
    }

    func makeLogger() -> Logger {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: "scdns")
    }
}
