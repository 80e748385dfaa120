import DNSPipeline
import DNSWire
import RegistryEtcd
import ServiceRegistry
import XCTest

@testable import DNSServer

final class ServerConfigTests: XCTestCase {
    private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    func testTheExampleConfigLoadsEveryKey() throws {
        let path = Self.root + "/scdns.yaml"
        let config = try ServerConfig.load(file: path, text: String(contentsOfFile: path, encoding: .utf8))
        XCTAssertEqual(config.listen, [ListenAddress(host: "127.0.0.1", port: 5353)])
        XCTAssertEqual(config.zonesDirectory, Self.root + "/zones/")
        XCTAssertEqual(config.registryFile, Self.root + "/registry.yaml")
        XCTAssertEqual(
            config.pipeline.serviceZones, [try DNSName("supercluster.local."), try DNSName("clusterset.local.")])
        XCTAssertEqual(config.pipeline.globalZone, try DNSName("global."))
        XCTAssertEqual(config.pipeline.ttl, 5)
        XCTAssertEqual(
            config.pipeline.locality,
            Locality(cluster: "cluster-a", region: "ap-northeast-2", zone: "ap-northeast-2a"))
        XCTAssertEqual(
            config.pipeline.clients.map(\.network.description), ["10.244.0.0/16", "10.245.0.0/16", "10.246.0.0/16"])
        XCTAssertEqual(config.pipeline.clients.map(\.locality.cluster), ["cluster-a", "cluster-b", "cluster-c"])
        XCTAssertEqual(config.pipeline.clients[2].locality.region, "us-east-1")
        XCTAssertEqual(config.pipeline.udpPayloadLimit, 1232)
        XCTAssertEqual(config.tcpConnections, 1024)
        XCTAssertEqual(config.tcpIdle, .seconds(10))
        XCTAssertEqual(config.rateLimit, RateLimitSettings(responsesPerSecond: 0, slip: 2))
        XCTAssertEqual(config.pipeline.allow.count, 6)
        XCTAssertEqual(config.pipeline.maxAnswers, 0)
        XCTAssertTrue(config.pipeline.clusterNames)
        XCTAssertEqual(config.admin, ListenAddress(host: "127.0.0.1", port: 9253))
        XCTAssertEqual(config.lameDuck, .seconds(5))
    }

    func testAdminIsOffAndLameDuckFiveSecondsByDefault() throws {
        let config = try ServerConfig.load(file: "scdns.yaml", text: "ttl: 5\n")
        XCTAssertNil(config.admin)
        XCTAssertEqual(config.lameDuck, .seconds(5))
        let set = try ServerConfig.load(
            file: "scdns.yaml",
            text:
                "admin: \"[::1]:9253\"\nlameduck: 0s\nregistry: { etcd: { endpoints: [http://e:2379], maxStale: 2m } }\n"
        )
        XCTAssertEqual(set.admin, ListenAddress(host: "::1", port: 9253))
        XCTAssertEqual(set.lameDuck, .zero)
        XCTAssertEqual(set.registryEtcd?.maxStale, .seconds(120))
        XCTAssertNil(try ServerConfig.load(file: "scdns.yaml", text: "admin: off\n").admin, "as --admin off")
    }

    func testIdentityVersionAndQueryLog() throws {
        let defaults = try ServerConfig.load(file: "scdns.yaml", text: "ttl: 5\n")
        XCTAssertEqual(defaults.pipeline.identity, ServerConfig.hostName(), "the host name, as NSD and Knot")
        XCTAssertNotNil(defaults.pipeline.identity)
        XCTAssertEqual(defaults.pipeline.version, "scdns \(ScdnsServer.version)")
        XCTAssertEqual(defaults.queryLogEvery, 0)
        let set = try ServerConfig.load(
            file: "scdns.yaml", text: "identity: dns-a-1\nversion: hide\nqueryLog: 100\n")
        XCTAssertEqual(set.pipeline.identity, "dns-a-1")
        XCTAssertNil(set.pipeline.version)
        XCTAssertEqual(set.queryLogEvery, 100)
        let hidden = try ServerConfig.load(file: "scdns.yaml", text: "identity: hide\nversion: \"9.9\"\n")
        XCTAssertNil(hidden.pipeline.identity)
        XCTAssertEqual(hidden.pipeline.version, "9.9")
    }

    func testAnEmptyFileMeansEveryDefault() throws {
        let config = try ServerConfig.load(file: "scdns.yaml", text: "# nothing set\n")
        XCTAssertEqual(config.listen, [ListenAddress(host: "127.0.0.1", port: 5353)])
        XCTAssertEqual(config.zonesDirectory, "zones")
        XCTAssertEqual(config.pipeline.allow, ServerConfig.defaultAllow)
    }

    /// DESIGN.md section 5: an explicit empty `allow` allows nobody, down to the answers.
    func testAnEmptyAllowListRefusesEveryClient() throws {
        let config = try ServerConfig.load(file: "scdns.yaml", text: "allow: []\n")
        XCTAssertEqual(config.pipeline.allow, [])
        let snapshot = AnswerSnapshot.build(
            registry: RegistrySnapshot(services: [], version: 1, origin: "test"), zones: [], settings: config.pipeline)
        let processor = QueryProcessor(snapshot: snapshot)
        var query = Message(
            header: Header(id: 7), questions: [Question(name: try DNSName("version.bind"), type: .txt, qclass: .ch)])
        for address in ["127.0.0.1", "10.0.0.1", "::1"] {
            let client = ClientContext(address: ClientAddress(IPAddress(address)!), transport: .udp)
            query.header.id += 1
            let response = try Message(parsing: try XCTUnwrap(processor.process(query.serialized(), client: client)))
            XCTAssertEqual(response.rcode, .refused, address)
        }
    }

    func testFlagsStyleValues() throws {
        let config = try ServerConfig.load(
            file: "/etc/scdns/scdns.yaml",
            text: """
                listen: ["[::1]:53", 127.0.0.2:1053]
                zones: /var/lib/scdns/zones
                globalZone: ""
                limits: { tcpIdle: 500ms, udpPayload: 4096 }
                clusterNames: false
                maxAnswers: 1
                """)
        XCTAssertEqual(
            config.listen, [ListenAddress(host: "::1", port: 53), ListenAddress(host: "127.0.0.2", port: 1053)])
        XCTAssertEqual(config.zonesDirectory, "/var/lib/scdns/zones")
        XCTAssertEqual(config.registryFile, "/etc/scdns/registry.yaml")
        XCTAssertNil(config.pipeline.globalZone)
        XCTAssertEqual(config.tcpIdle, .milliseconds(500))
        XCTAssertEqual(config.pipeline.udpPayloadLimit, 4096)
        XCTAssertFalse(config.pipeline.clusterNames)
        XCTAssertEqual(config.pipeline.maxAnswers, 1)
    }

    func testErrorsNameLineAndField() {
        let cases: [(text: String, line: Int, field: String, message: String)] = [
            ("ttl: 5\nlisten: [127.0.0.1]\n", 2, "listen[0]", "ADDRESS:PORT"),
            ("limits:\n  udpPayload: 100\n", 2, "limits.udpPayload", "512"),
            ("limits:\n  tcpIdle: soon\n", 2, "limits.tcpIdle", "duration"),
            ("serviceZones: [supercluster.local, \"a..b\"]\n", 1, "serviceZones[1]", "domain name"),
            ("allow: [10.0.0.0/33]\n", 1, "allow[0]", "network"),
            ("clusterNames: yes\n", 1, "clusterNames", "true or false"),
            ("ttl: 5\nadmin: 127.0.0.1\n", 2, "admin", "ADDRESS:PORT"),
            ("lameduck: soon\n", 1, "lameduck", "duration"),
            (
                "registry:\n  etcd: { endpoints: [http://e:2379], maxStale: 0s }\n", 2, "registry.etcd.maxStale",
                "outside 1s to 168h"
            ),
            // Every duration is range-checked; one too large to hold is an error, never a crash at start.
            ("limits:\n  tcpIdle: 9999999999999999h\n", 2, "limits.tcpIdle", "not a duration"),
            ("limits:\n  tcpIdle: 99999999999999999999\n", 2, "limits.tcpIdle", "not a duration"),
            ("limits:\n  tcpIdle: 2h\n", 2, "limits.tcpIdle", "outside 100ms to 1h"),
            ("limits:\n  tcpIdle: 10ms\n", 2, "limits.tcpIdle", "outside 100ms to 1h"),
            ("limits:\n  tcpIdle: -5s\n", 2, "limits.tcpIdle", "not a duration"),
            ("lameduck: 11m\n", 1, "lameduck", "outside 0s to 10m"),
            (
                "forward:\n  - { zone: a, upstreams: [127.0.0.1:53], tryTimeout: 0s }\n", 2, "forward[0].tryTimeout",
                "outside"
            ),
            (
                "forward:\n  - { zone: a, upstreams: [127.0.0.1:53], timeout: 1000h }\n", 2, "forward[0].timeout",
                "outside"
            ),
            ("locality: { cluster: a, rack: b }\n", 1, "locality.rack", "unknown field"),
            ("ttl: \"5\"\n", 1, "ttl", "integer"),
            ("identity: \"\"\n", 1, "identity", "255 octets"),
            ("version: \(String(repeating: "v", count: 256))\n", 1, "version", "255 octets"),
            ("queryLog: -1\n", 1, "queryLog", "0"),
            ("version: 1.0\n", 1, "version", "string"),
            ("workers: 0\n", 1, "workers", "from 1 to 256, or auto"),
            ("ttl: 5\nworkers: many\n", 2, "workers", "from 1 to 256, or auto"),
            ("workers: 257\n", 1, "workers", "from 1 to 256, or auto"),
        ]
        assertConfigErrors(cases)
    }

    /// `workers`: a count, or `auto` (the default) for one per CPU this process may run on.
    func testWorkers() throws {
        XCTAssertNil(try ServerConfig.load(file: "scdns.yaml", text: "ttl: 5\n").workers)
        XCTAssertNil(try ServerConfig.load(file: "scdns.yaml", text: "workers: auto\n").workers)
        XCTAssertEqual(try ServerConfig.load(file: "scdns.yaml", text: "workers: 3\n").workers, 3)
        // Never more than the CPUs the affinity mask allows, as `taskset -p` shows it.
        let allowed = try Self.allowedCPUs()
        let automatic = ServerConfig.automaticWorkers()
        XCTAssertGreaterThanOrEqual(automatic, 1)
        XCTAssertLessThanOrEqual(automatic, allowed)
    }

    /// The CPUs in this process's affinity mask, from /proc (`Cpus_allowed_list: 0-1,4`).
    private static func allowedCPUs() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try XCTUnwrap(status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") })
        return line.dropFirst("Cpus_allowed_list:".count).split(separator: ",").reduce(0) { count, range in
            let bounds = range.trimmingCharacters(in: .whitespaces).split(separator: "-").compactMap { Int($0) }
            return count + (bounds.count == 2 ? bounds[1] - bounds[0] + 1 : 1)
        }
    }

    func testEtcdRegistry() throws {
        let config = try ServerConfig.load(
            file: "/etc/scdns/scdns.yaml",
            text: "registry:\n  etcd:\n    endpoints: [http://10.0.0.1:2379, \"http://[fd00::1]:2379\"]\n")
        XCTAssertEqual(
            config.registryEtcd,
            EtcdRegistrySettings(endpoints: ["http://10.0.0.1:2379", "http://[fd00::1]:2379"], prefix: "/scdns/v1/"))
        let prefixed = try ServerConfig.load(
            file: "scdns.yaml", text: "registry: { etcd: { endpoints: [http://e:2379], prefix: /team-a/scdns/ } }")
        XCTAssertEqual(prefixed.registryEtcd?.prefix, "/team-a/scdns/")
        XCTAssertNil(try ServerConfig.load(file: "scdns.yaml", text: "ttl: 5").registryEtcd)

        // TLS and authentication: files relative to the config file's directory, the password only by file.
        let secured = try ServerConfig.load(
            file: "/etc/scdns/scdns.yaml",
            text: """
                registry:
                  etcd:
                    endpoints: [https://10.0.0.5:2379]
                    tls: { ca: pki/ca.pem, cert: /pki/client.pem, key: pki/client-key.pem }
                    auth: { user: scdns-reader, passwordFile: /run/secrets/etcd-password }
                """)
        XCTAssertEqual(
            secured.registryEtcd?.security,
            EtcdSecurity(
                caFile: "/etc/scdns/pki/ca.pem", certFile: "/pki/client.pem", keyFile: "/etc/scdns/pki/client-key.pem",
                user: "scdns-reader", passwordFile: "/run/secrets/etcd-password"))

        assertConfigErrors([
            ("registry:\n  etcd: { endpoints: [] }\n", 2, "registry.etcd.endpoints", "at least one"),
            (
                "registry:\n  etcd:\n    endpoints: [ftp://e:2379]\n", 3, "registry.etcd.endpoints[0]",
                "http://HOST:PORT or https://HOST:PORT"
            ),
            (
                "registry:\n  etcd:\n    endpoints: [\"http://u:secret@e:2379\"]\n", 3, "registry.etcd.endpoints[0]",
                "credentials in its URL is refused"
            ),
            (
                "registry:\n  etcd:\n    endpoints: [http://e:2379]\n    tls: { ca: ca.pem }\n", 4, "registry.etcd.tls",
                "endpoint http://e:2379 is not https://"
            ),
            (
                "registry:\n  etcd:\n    endpoints: [https://e:2379]\n    tls: { cert: c.pem }\n", 4,
                "registry.etcd.tls", "cert and key go together"
            ),
            (
                "registry:\n  etcd:\n    endpoints: [https://e:2379]\n    auth: { user: u }\n", 4,
                "registry.etcd.auth.passwordFile", "required"
            ),
            (
                "registry:\n  etcd:\n    endpoints: [https://e:2379]\n    auth: { user: u, password: p }\n", 4,
                "registry.etcd.auth.password", "unknown field"
            ),
            ("registry:\n  etcd: { endpoints: [\"e:2379\"] }\n", 2, "registry.etcd.endpoints[0]", "http://HOST:PORT"),
            ("registry:\n  etcd: { prefix: /x/ }\n", 2, "registry.etcd.endpoints", "required"),
            ("registry:\n  etcd: { endpoints: [http://e:1], prefix: x/ }\n", 2, "registry.etcd.prefix", "starts with"),
            ("registry:\n  file: r.yaml\n  etcd: { endpoints: [http://e:1] }\n", 2, "registry.file", "not both"),
            ("registry:\n  etcd: { endpoints: [https://e:1], tls: true }\n", 2, "registry.etcd.tls", "mapping"),
        ])
    }

    func testHealthProbes() throws {
        XCTAssertFalse(try ServerConfig.load(file: "scdns.yaml", text: "ttl: 5").health.probes, "off by default")
        let config = try ServerConfig.load(
            file: "scdns.yaml",
            text: "health: { probes: true, interval: 500ms, timeout: 200ms, fall: 4, rise: 1, maxProbesPerSecond: 50 }")
        var expected = HealthSettings()
        expected.probes = true
        expected.interval = .milliseconds(500)
        expected.timeout = .milliseconds(200)
        expected.fall = 4
        expected.rise = 1
        expected.maxProbesPerSecond = 50
        XCTAssertEqual(config.health, expected)
        assertConfigErrors([
            ("health:\n  probes: yes please\n", 2, "health.probes", "true or false"),
            ("health:\n  fall: 0\n", 2, "health.fall", "1...100"),
            ("health:\n  interval: 10ms\n", 2, "health.interval", "100ms"),
            ("health:\n  interval: 1s\n  timeout: 2s\n", 3, "health.timeout", "longer than interval"),
            ("health:\n  every: 1s\n", 2, "health.every", "unknown field"),
        ])
    }

    func testClientsMapNetworksToLocalities() throws {
        let config = try ServerConfig.load(
            file: "scdns.yaml",
            text: """
                locality: { cluster: cluster-a, region: ap-northeast-2, zone: ap-northeast-2a }
                clients:
                  - { network: 10.1.0.0/16, cluster: cluster-b, region: ap-northeast-2, zone: ap-northeast-2c }
                  - network: "fd00:c::/32"
                    cluster: cluster-c
                    region: us-east-1
                  - { network: 10.2.3.4/8, zone: us-east-1a }
                """)
        XCTAssertEqual(
            config.pipeline.clients,
            [
                ClientNetwork(
                    network: IPNetwork("10.1.0.0/16")!,
                    locality: Locality(cluster: "cluster-b", region: "ap-northeast-2", zone: "ap-northeast-2c")),
                ClientNetwork(
                    network: IPNetwork("fd00:c::/32")!, locality: Locality(cluster: "cluster-c", region: "us-east-1")),
                // Host bits are cleared; a locality may leave out what it does not know.
                ClientNetwork(network: IPNetwork("10.0.0.0/8")!, locality: Locality(cluster: "", zone: "us-east-1a")),
            ])
        XCTAssertEqual(
            config.pipeline.locality,
            Locality(cluster: "cluster-a", region: "ap-northeast-2", zone: "ap-northeast-2a"))
        XCTAssertEqual(try ServerConfig.load(file: "scdns.yaml", text: "ttl: 5\n").pipeline.clients, [])
        XCTAssertEqual(try ServerConfig.load(file: "scdns.yaml", text: "clients: []\n").pipeline.clients, [])
    }

    func testClientsErrorsNameLineAndField() {
        let cases: [(text: String, line: Int, field: String, message: String)] = [
            ("ttl: 5\nclients:\n  - { cluster: cluster-b }\n", 3, "clients[0].network", "missing"),
            ("clients:\n  - network: 10.1.0.0/16\n    rack: r7\n", 3, "clients[0].rack", "unknown field"),
            ("clients:\n  - { network: 10.1.0.0/16, clustr: b }\n", 2, "clients[0].clustr", "did you mean 'cluster'"),
            (
                "clients:\n  - { network: 10.1.0.0/16 }\n  - { network: 10.1.0.0/33 }\n", 3, "clients[1].network",
                "network"
            ),
            ("clients:\n  - { network: 10.1.0.0/16, region: 7 }\n", 2, "clients[0].region", "string"),
            ("clients: { network: 10.1.0.0/16 }\n", 1, "clients", "list"),
            ("clients:\n  - 10.1.0.0/16\n", 2, "clients[0]", "mapping"),
        ]
        assertConfigErrors(cases)
    }

    func testForwardRules() throws {
        let config = try ServerConfig.load(
            file: "scdns.yaml",
            text: """
                forward:
                  - zone: cluster.local
                    upstreams: [10.96.0.10:53, "[fd00::a]:53"]
                    policy: round_robin
                    tryTimeout: 300ms
                  - { zone: in-addr.arpa, upstreams: [10.96.0.10:53] }
                """)
        XCTAssertEqual(config.forward.map(\.zone), [try DNSName("cluster.local."), try DNSName("in-addr.arpa.")])
        XCTAssertEqual(
            config.forward[0].upstreams,
            [ListenAddress(host: "10.96.0.10", port: 53), ListenAddress(host: "fd00::a", port: 53)])
        XCTAssertEqual(config.forward[0].policy, .roundRobin)
        XCTAssertEqual(config.forward[0].tryTimeout, .milliseconds(300))
        XCTAssertEqual(config.forward[1].policy, .sequential)
        XCTAssertEqual(config.forward[1].timeout, .seconds(2))
        XCTAssertEqual(config.pipeline.forwardZones, config.forward.map(\.zone))

        assertConfigErrors([
            ("forward:\n  - zone: cluster.local\n", 2, "forward[0].upstreams", "missing required field"),
            ("forward:\n  - { zone: cluster.local, upstreams: [] }\n", 2, "forward[0].upstreams", "at least one"),
            (
                "forward:\n  - { zone: cluster.local, upstreams: [10.96.0.10] }\n", 2, "forward[0].upstreams[0]",
                "ADDRESS:PORT"
            ),
            (
                "forward:\n  - { zone: a.b, upstreams: [1.2.3.4:53], policy: fastest }\n", 2, "forward[0].policy",
                "sequential, round_robin, random"
            ),
            (
                "forward:\n  - { zone: a.b, upstreams: [1.2.3.4:53] }\n  - { zone: A.B., upstreams: [1.2.3.4:53] }\n",
                3, "forward[1].zone", "has a forward rule already"
            ),
        ])
    }

    func testCacheSettings() throws {
        let config = try ServerConfig.load(
            file: "scdns.yaml",
            text: """
                forward:
                  - { zone: cluster.local, upstreams: [10.96.0.10:53] }
                cache:
                  capacity: 5000
                  minTTL: 5
                  maxTTL: 600
                  prefetch: false
                  serveStale: 3600
                """)
        XCTAssertEqual(
            config.cache, CacheSettings(capacity: 5000, minTTL: 5, maxTTL: 600, serveStale: 3600, prefetch: false))
        // Unset keys keep their defaults; capacity 0 (the cache off) and minTTL equal to maxTTL are fine.
        let defaults = try ServerConfig.load(file: "scdns.yaml", text: "ttl: 5\n").cache
        XCTAssertEqual(defaults, CacheSettings())
        XCTAssertEqual(
            [defaults.capacity, Int(defaults.minTTL), Int(defaults.maxTTL), Int(defaults.serveStale)],
            [100_000, 0, 3600, 86400])
        XCTAssertTrue(defaults.prefetch, "DESIGN.md's default")
        let partial = try ServerConfig.load(file: "scdns.yaml", text: "cache: { capacity: 0, minTTL: 3600 }\n").cache
        XCTAssertEqual(partial, CacheSettings(capacity: 0, minTTL: 3600, maxTTL: 3600, serveStale: 86400))
    }

    func testCacheErrorsNameLineAndField() {
        let cases: [(text: String, line: Int, field: String, message: String)] = [
            ("cache: { minTTL: 600, maxTTL: 60 }\n", 1, "cache.minTTL", "above maxTTL"),
            ("cache:\n  maxTTL: 60\n  minTTL: 61\n", 3, "cache.minTTL", "above maxTTL 60"),
            ("cache:\n  minTTL: 7200\n", 2, "cache.minTTL", "above maxTTL 3600"),
            ("cache:\n  capacity: 10\n  size: 5\n", 3, "cache.size", "unknown field"),
            ("cache:\n  capcity: 10\n", 2, "cache.capcity", "did you mean 'capacity'"),
            ("cache: { capacity: -1 }\n", 1, "cache.capacity", "out of range"),
            ("cache: { serveStale: 1d }\n", 1, "cache.serveStale", "integer"),
            ("cache: { maxTTL: 999999999 }\n", 1, "cache.maxTTL", "out of range"),
            ("cache: { prefetch: yes }\n", 1, "cache.prefetch", "true or false"),
            ("cache: 1000\n", 1, "cache", "mapping"),
        ]
        assertConfigErrors(cases)
    }

    /// `limits.rrl` as DESIGN.md section 5 writes it; `0` stays accepted as off (the form earlier versions took).
    func testResponseRateLimitSettings() throws {
        let on = try ServerConfig.load(
            file: "scdns.yaml", text: "limits:\n  rrl: { responsesPerSecond: 20, slip: 3 }\n")
        XCTAssertEqual(on.rateLimit, RateLimitSettings(responsesPerSecond: 20, slip: 3))
        XCTAssertTrue(on.rateLimit.isEnabled)
        let partial = try ServerConfig.load(file: "scdns.yaml", text: "limits: { rrl: { responsesPerSecond: 5 } }\n")
        XCTAssertEqual(partial.rateLimit, RateLimitSettings(responsesPerSecond: 5, slip: 2), "slip 2 by default")
        for text in ["ttl: 5\n", "limits: { rrl: 0 }\n", "limits: { rrl: { responsesPerSecond: 0, slip: 2 } }\n"] {
            XCTAssertFalse(try ServerConfig.load(file: "scdns.yaml", text: text).rateLimit.isEnabled, text)
        }
    }

    func testResponseRateLimitErrorsNameLineAndField() {
        let cases: [(text: String, line: Int, field: String, message: String)] = [
            ("limits:\n  rrl: 20\n", 2, "limits.rrl", "mapping such as { responsesPerSecond: 20, slip: 2 }"),
            ("limits:\n  rrl: { responsesPerSecond: -1 }\n", 2, "limits.rrl.responsesPerSecond", "out of range"),
            ("limits:\n  rrl:\n    slip: 11\n", 3, "limits.rrl.slip", "out of range"),
            ("limits:\n  rrl: { rate: 5 }\n", 2, "limits.rrl.rate", "unknown field"),
            ("limits:\n  rrl: [5]\n", 2, "limits.rrl", "mapping"),
        ]
        assertConfigErrors(cases)
    }

    func testListenAddressParsing() {
        XCTAssertEqual(ListenAddress("127.0.0.1:53"), ListenAddress(host: "127.0.0.1", port: 53))
        XCTAssertEqual(ListenAddress("[::1]:5353"), ListenAddress(host: "::1", port: 5353))
        XCTAssertEqual(ListenAddress("[::1]:5353")?.description, "[::1]:5353")
        for bad in ["127.0.0.1", "::1:53", "[::1]53", ":53", "127.0.0.1:70000", "127.0.0.1:x"] {
            XCTAssertNil(ListenAddress(bad), bad)
        }
    }
}

/// Each config must be rejected with an error naming scdns.yaml, the line, the field path, and saying `message`.
private func assertConfigErrors(
    _ cases: [(text: String, line: Int, field: String, message: String)], file: StaticString = #filePath,
    line: UInt = #line
) {
    for testCase in cases {
        XCTAssertThrowsError(
            try ServerConfig.load(file: "scdns.yaml", text: testCase.text), testCase.text, file: file, line: line
        ) { error in
            guard let error = error as? RegistryError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(error.file, "scdns.yaml", file: file, line: line)
            XCTAssertEqual(error.line, testCase.line, "\(testCase.text): \(error)", file: file, line: line)
            XCTAssertEqual(error.field, testCase.field, "\(testCase.text): \(error)", file: file, line: line)
            XCTAssertTrue(
                error.description.contains(testCase.message), "\(testCase.text): \(error)", file: file, line: line)
        }
    }
}
