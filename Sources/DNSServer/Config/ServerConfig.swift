import DNSPipeline
import DNSWire
import NIOCore
import ServiceRegistry

#if os(Linux)
import CSocketBatch
#endif

#if canImport(Glibc)
import Glibc
#endif

/// `scdns.yaml` (DESIGN.md section 5), every key optional. Flags override it after loading.
///
/// Relative paths (`zones`, `registry.file`) are resolved against the config file's directory, so a config
/// and its data can move together; without a config file they are relative to the working directory.
public struct ServerConfig: Sendable {
    /// `listen`: addresses served over both UDP and TCP.
    public var listen: [ListenAddress] = [ListenAddress(host: "127.0.0.1", port: 5353)]
    /// `workers`: UDP threads per listen address, each on its own SO_REUSEPORT socket; nil (`auto`, the default)
    /// for one per CPU this process may run on (`automaticWorkers`).
    public var workers: Int?
    /// `zones`: directory of master files (`*.zone`), read with ldns.
    public var zonesDirectory: String = "zones"
    /// `registry.file`: the service registry, YAML or JSON.
    public var registryFile: String = "registry.yaml"
    /// `admin`: ADDRESS:PORT of the admin HTTP endpoint (`/health`, `/ready`, `/metrics`, `/registry`); nil, the
    /// default, serves none.
    public var admin: ListenAddress?
    /// `lameduck`: after SIGTERM, how long `/ready` says 503 while queries are still answered, before the
    /// listeners close (CoreDNS's `health { lameduck }`). `0s` closes at once.
    public var lameDuck: Duration = .seconds(5)
    /// `queryLog`: log one query in this many at info level (1: every query); 0, the default, logs none.
    public var queryLogEvery: Int = 0
    /// `registry.etcd`: the replicated registry in etcd v3; when set, `registry.file` is not read.
    public var registryEtcd: EtcdRegistrySettings?
    /// `limits.tcpConnections`: open TCP connections at most, over every listen address; more are closed at once.
    public var tcpConnections: Int = 1024
    /// `limits.tcpPerClient`: open TCP connections one client (an IPv4 address, an IPv6 /64) may hold.
    public var tcpPerClient: Int = 64
    /// `limits.forwardInFlight`: distinct forwarded questions resolved at once; more are answered at once,
    /// stale or SERVFAIL, with nothing sent upstream.
    public var forwardInFlight: Int = 1024
    /// `limits.rrl`: UDP responses a second per client network, and the slip; off unless responsesPerSecond > 0.
    public var rateLimit = RateLimitSettings()
    /// `health`: reachability probes from this instance.
    public var health = HealthSettings()
    /// `limits.tcpIdle`: a TCP connection with no query for this long is closed (RFC 7766 6.2.3).
    public var tcpIdle: Duration = .seconds(10)
    /// `cache`: forwarded answers kept and served from the fast path.
    public var cache = CacheSettings()
    /// `forward`: zones resolved by upstream servers, most often the cluster's own DNS.
    public var forward: [ForwardTarget] = []
    /// Everything the answering policy reads: serviceZones, globalZone, ttl, locality, clients, maxAnswers,
    /// clusterNames, allow, limits.udpPayload, identity (the host name unless set) and version.
    public var pipeline = PipelineSettings(allow: ServerConfig.defaultAllow)

    public init() {
        pipeline.identity = Self.hostName()
        pipeline.version = "scdns \(ScdnsServer.version)"
    }

    /// `workers` at most: beyond this the threads outnumber any core count they could use.
    public static let maxWorkers = 256

    /// `workers: auto`: the CPUs this process may run on (its affinity mask, which `taskset` and a cpuset
    /// narrow), and no more than a CPU quota allows (a Kubernetes CPU limit, as `System.coreCount` reads the
    /// cgroup): Knot's udp-workers default, one per core. Without either, one.
    public static func automaticWorkers() -> Int {
        #if os(Linux)
        let allowed = Int(scdns_allowed_cpus())
        #else
        let allowed = 0
        #endif
        let quota = System.coreCount
        return max(1, min(allowed > 0 ? allowed : quota, quota, maxWorkers))
    }

    /// The host name, as NSD and Knot report by default (in Kubernetes, the pod's name); nil if it has none.
    static func hostName() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? nil : name
    }

    public static let defaultAllow: [IPNetwork] = [
        "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128", "fc00::/7",
    ].map { IPNetwork($0)! }

    /// Reads and validates a config file. Errors name the file, line, column and field.
    public static func load(file: String, text: String) throws(RegistryError) -> ServerConfig {
        var config = ServerConfig()
        let base = directory(of: file)
        guard let root = try YAMLField.parse(text, file: file) else { return config.resolvingPaths(against: base) }
        let map = try root.mapping(allowing: ConfigKeys.top)
        if let field = map["listen"] {
            config.listen = []
            for item in try field.sequence() {
                let text = try item.scalarText()
                guard let address = ListenAddress(text) else {
                    throw item.error("'\(text)' is not ADDRESS:PORT (an IPv6 address goes in brackets)")
                }
                config.listen.append(address)
            }
        }
        if let field = map["workers"] {
            let text = try field.scalarText()
            if text != "auto" {
                guard let count = Int(text), (1...Self.maxWorkers).contains(count) else {
                    throw field.error("'\(text)' is not a number of workers from 1 to \(Self.maxWorkers), or auto")
                }
                config.workers = count
            }
        }
        if let field = map["admin"] {
            let text = try field.scalarText()
            // `off`, as the flag takes it, or nothing: no admin endpoint.
            if !text.isEmpty && text != "off" {
                guard let address = ListenAddress(text) else {
                    throw field.error("'\(text)' is not ADDRESS:PORT (an IPv6 address goes in brackets)")
                }
                config.admin = address
            }
        }
        if let field = map["lameduck"] { config.lameDuck = try duration(field, DurationRange.lameDuck) }
        if let field = map["identity"] { config.pipeline.identity = try chaosText(field) }
        if let field = map["version"] { config.pipeline.version = try chaosText(field) }
        if let field = map["queryLog"] { config.queryLogEvery = try field.int(in: 0...1_000_000_000) }
        if let field = map["zones"] { config.zonesDirectory = try field.string() }
        if let field = map["serviceZones"] {
            config.pipeline.serviceZones = []
            for item in try field.sequence() { config.pipeline.serviceZones.append(try domainName(item)) }
        }
        if let field = map["globalZone"] {
            config.pipeline.globalZone = try field.string().isEmpty ? nil : try domainName(field)
        }
        if let field = map["ttl"] { config.pipeline.ttl = try field.int(in: 0...86400) }
        if let field = map["locality"] {
            let locality = try field.mapping(allowing: ConfigKeys.locality)
            config.pipeline.locality = Locality(
                cluster: try locality["cluster"]?.string() ?? "",
                region: try locality["region"]?.string() ?? "",
                zone: try locality["zone"]?.string() ?? "")
        }
        if let field = map["clients"] {
            for item in try field.sequence() {
                let client = try item.mapping(allowing: ConfigKeys.clients)
                config.pipeline.clients.append(
                    ClientNetwork(
                        network: try client.required("network").ipNetwork(),
                        locality: Locality(
                            cluster: try client["cluster"]?.string() ?? "",
                            region: try client["region"]?.string() ?? "",
                            zone: try client["zone"]?.string() ?? "")))
            }
        }
        if let field = map["forward"] {
            for item in try field.sequence() {
                let rule = try item.mapping(allowing: ConfigKeys.forward)
                let zoneField = try rule.required("zone")
                let zone = try domainName(zoneField)
                if config.forward.contains(where: { $0.zone == zone }) {
                    throw zoneField.error("'\(zone)' has a forward rule already")
                }
                let upstreamsField = try rule.required("upstreams")
                var upstreams: [ListenAddress] = []
                for upstream in try upstreamsField.sequence() {
                    let text = try upstream.scalarText()
                    guard let address = ListenAddress(text) else {
                        throw upstream.error("'\(text)' is not ADDRESS:PORT (an IPv6 address goes in brackets)")
                    }
                    upstreams.append(address)
                }
                guard !upstreams.isEmpty else {
                    throw upstreamsField.error("a forward rule needs at least one upstream")
                }
                config.forward.append(
                    ForwardTarget(
                        zone: zone, upstreams: upstreams,
                        policy: try rule["policy"]?.oneOf(ForwardTarget.Policy.self) ?? .sequential,
                        tryTimeout: try rule["tryTimeout"].map { field throws(RegistryError) in
                            try duration(field, DurationRange.forwardTimeout)
                        } ?? .milliseconds(500),
                        timeout: try rule["timeout"].map { field throws(RegistryError) in
                            try duration(field, DurationRange.forwardTimeout)
                        } ?? .seconds(2)))
            }
        }
        if let field = map["cache"] {
            let cache = try field.mapping(allowing: ConfigKeys.cache)
            if let value = cache["capacity"] { config.cache.capacity = try value.int(in: 0...10_000_000) }
            if let value = cache["maxBytes"] { config.cache.maxBytes = try value.int(in: 65_536...(1 << 40)) }
            if let value = cache["minTTL"] { config.cache.minTTL = try value.int(in: 0...604_800) }
            if let value = cache["maxTTL"] { config.cache.maxTTL = try value.int(in: 0...604_800) }
            if let value = cache["serveStale"] { config.cache.serveStale = try value.int(in: 0...604_800) }
            if let value = cache["prefetch"] { config.cache.prefetch = try value.bool() }
            if config.cache.minTTL > config.cache.maxTTL, let value = cache["minTTL"] {
                throw value.error("minTTL \(config.cache.minTTL) is above maxTTL \(config.cache.maxTTL)")
            }
        }
        if let field = map["registry"] {
            let registry = try field.mapping(allowing: ConfigKeys.registry)
            if let file = registry["file"] { config.registryFile = try file.string() }
            if let etcd = registry["etcd"] {
                if let file = registry.keyField("file") {
                    throw file.error("a registry is a file or etcd, not both")
                }
                config.registryEtcd = try EtcdRegistrySettings.decode(etcd)
            }
        }
        if let field = map["limits"] {
            let limits = try field.mapping(allowing: ConfigKeys.limits)
            if let value = limits["udpPayload"] { config.pipeline.udpPayloadLimit = try value.int(in: 512...4096) }
            if let value = limits["tcpConnections"] { config.tcpConnections = try value.int(in: 1...65535) }
            if let value = limits["tcpPerClient"] { config.tcpPerClient = try value.int(in: 1...65535) }
            if let value = limits["forwardInFlight"] { config.forwardInFlight = try value.int(in: 1...65536) }
            if let value = limits["tcpIdle"] { config.tcpIdle = try duration(value, DurationRange.tcpIdle) }
            if let rrl = limits["rrl"] { config.rateLimit = try rateLimit(rrl) }
        }
        if let field = map["health"] { config.health = try HealthSettings.decode(field) }
        if let field = map["allow"] {
            config.pipeline.allow = []
            for item in try field.sequence() { config.pipeline.allow.append(try item.ipNetwork()) }
        }
        if let field = map["maxAnswers"] { config.pipeline.maxAnswers = try field.int(in: 0...1000) }
        if let field = map["clusterNames"] { config.pipeline.clusterNames = try field.bool() }
        config.pipeline.forwardZones = config.forward.map(\.zone)
        return config.resolvingPaths(against: base)
    }

    /// `identity` or `version`: a string of at most 255 octets (one TXT character-string), or `hide` for none.
    static func chaosText(_ field: YAMLField) throws(RegistryError) -> String? {
        let text = try field.string()
        if text == "hide" { return nil }
        guard !text.isEmpty, text.utf8.count <= 255 else {
            throw field.error("'\(text)' is not 1 to 255 octets of text, or 'hide'")
        }
        return text
    }

    static func domainName(_ field: YAMLField) throws(RegistryError) -> DNSName {
        let text = try field.string()
        guard let name = try? DNSName(text), !name.isRoot else {
            throw field.error("'\(text)' is not a domain name")
        }
        return name
    }

    /// The range each duration key accepts: wide enough for any real deployment, narrow enough that no value
    /// can overflow a clock or timer computed from it.
    public enum DurationRange {
        public static let lameDuck = DurationLimits(.zero, .seconds(600), "0s", "10m")
        public static let tcpIdle = DurationLimits(.milliseconds(100), .seconds(3600), "100ms", "1h")
        public static let maxStale = DurationLimits(.seconds(1), .seconds(604_800), "1s", "168h")
        public static let probeInterval = DurationLimits(.milliseconds(100), .seconds(3600), "100ms", "1h")
        public static let probeTimeout = DurationLimits(.milliseconds(10), .seconds(60), "10ms", "60s")
        public static let forwardTimeout = DurationLimits(.milliseconds(10), .seconds(300), "10ms", "5m")
    }

    /// A key's accepted durations, and how the error message writes its bounds.
    public struct DurationLimits: Sendable {
        public var range: ClosedRange<Duration>
        public var text: String

        init(_ lower: Duration, _ upper: Duration, _ lowerText: String, _ upperText: String) {
            range = lower...upper
            text = "\(lowerText) to \(upperText)"
        }
    }

    /// `limits.rrl`: a mapping `{ responsesPerSecond, slip }`, or `0` for off (the form earlier versions took).
    static func rateLimit(_ field: YAMLField) throws(RegistryError) -> RateLimitSettings {
        if field.node.isScalar {
            guard try field.int() == 0 else {
                throw field.error("expected a mapping such as { responsesPerSecond: 20, slip: 2 }, or 0 for off")
            }
            return RateLimitSettings()
        }
        let rrl = try field.mapping(allowing: ConfigKeys.rrl)
        var settings = RateLimitSettings()
        if let value = rrl["responsesPerSecond"] { settings.responsesPerSecond = try value.int(in: 0...1_000_000) }
        if let value = rrl["slip"] { settings.slip = try value.int(in: 0...10) }
        return settings
    }

    /// A duration field within `limits`; errors name the file, line and field.
    static func duration(_ field: YAMLField, _ limits: DurationLimits) throws(RegistryError) -> Duration {
        let text = try field.scalarText()
        guard let value = parseDuration(text) else {
            throw field.error("'\(text)' is not a duration such as 10s, 500ms or 2m")
        }
        guard limits.range.contains(value) else { throw field.error("'\(text)' is outside \(limits.text)") }
        return value
    }

    /// `10s`, `500ms`, `2m`, `1h`, or a bare number of seconds, not negative; nil for anything else, a number
    /// too large to hold included (never a trap: `9999999999999999h` is a typo, not a crash).
    public static func parseDuration(_ text: String) -> Duration? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        var number = Substring(text)
        var milliseconds: Int64 = 1000
        for (suffix, unit) in units where text.hasSuffix(suffix) {
            number = text.dropLast(suffix.count)
            milliseconds = unit
            break
        }
        guard number.allSatisfy(\.isASCII), let value = Int64(number), value >= 0 else { return nil }
        let (total, overflow) = value.multipliedReportingOverflow(by: milliseconds)
        guard !overflow else { return nil }
        return .milliseconds(total)
    }

    /// Why `text` is not a duration within `limits`, as a flag's error message ends, or nil when it is one.
    public static func durationProblem(_ text: String, _ limits: DurationLimits) -> String? {
        guard let value = parseDuration(text) else { return "is not a duration such as 5s or 500ms" }
        return limits.range.contains(value) ? nil : "is outside \(limits.text)"
    }

    static func directory(of file: String) -> String {
        guard let slash = file.lastIndex(of: "/") else { return "" }
        return String(file[...slash])
    }

    func resolvingPaths(against base: String) -> ServerConfig {
        var config = self
        if !base.isEmpty {
            if !zonesDirectory.hasPrefix("/") { config.zonesDirectory = base + zonesDirectory }
            if !registryFile.hasPrefix("/") { config.registryFile = base + registryFile }
            config.registryEtcd?.security.resolveFiles(against: base)
        }
        return config
    }
}
