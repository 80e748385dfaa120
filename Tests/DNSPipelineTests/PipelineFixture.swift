import DNSPipeline
import DNSWire
import ServiceRegistry

/// The registry, zone and settings every table of this suite runs against (the brief of the pipeline tests):
/// three clusters in two regions, this instance in cluster-a, and a static zone for supercluster.local.
enum PipelineFixture {
    static let registryYAML = """
        services:
          - name: backend
            namespace: app
            type: ClusterSetIP
            ports:
              - { name: http, port: 80, protocol: TCP }
              - { name: grpc, port: 9090, protocol: TCP }
              - { port: 8080, protocol: TCP }
            clusters:
              - { cluster: cluster-a, region: ap-northeast-2, zone: ap-northeast-2a, addresses: [10.100.0.1] }
              - { cluster: cluster-b, region: ap-northeast-2, zone: ap-northeast-2c, addresses: [10.101.0.1] }
              - { cluster: cluster-c, region: us-east-1, zone: us-east-1a, addresses: [10.102.0.1] }
          - name: frontend
            namespace: app
            ports: [{ name: http, port: 80 }]
            clusters:
              - cluster: cluster-a
                region: ap-northeast-2
                zone: ap-northeast-2a
                addresses: [10.100.0.7, "fd00:100::7"]
          - name: db
            namespace: app
            type: Headless
            ports: [{ name: postgres, port: 5432, protocol: TCP }]
            clusters:
              - cluster: cluster-a
                region: ap-northeast-2
                zone: ap-northeast-2a
                endpoints:
                  - { hostname: db-0, addresses: [10.100.1.10] }
                  - { hostname: db-1, addresses: [10.100.1.11], ready: true }
              - cluster: cluster-b
                region: ap-northeast-2
                zone: ap-northeast-2c
                endpoints:
                  - { hostname: db-2, addresses: [10.101.1.12] }
                  - { hostname: db-3, addresses: [10.101.1.13], ready: false }
          - name: api
            namespace: app
            vip: 240.0.0.10
            ports: [{ name: http, port: 8080 }]
            clusters:
              - { cluster: cluster-a, region: ap-northeast-2, zone: ap-northeast-2a, addresses: [10.100.0.30] }
              - { cluster: cluster-b, region: ap-northeast-2, zone: ap-northeast-2c, addresses: [10.101.0.30] }
          - name: legacy
            namespace: app
            clusters:
              - cluster: cluster-a
                region: ap-northeast-2
                zone: ap-northeast-2a
                addresses: [10.100.0.40]
                healthy: false
              - { cluster: cluster-b, region: ap-northeast-2, zone: ap-northeast-2c, addresses: [10.101.0.40] }
          - name: allsick
            namespace: app
            clusters:
              - cluster: cluster-a
                region: ap-northeast-2
                zone: ap-northeast-2a
                addresses: [10.100.0.50]
                healthy: false
              - { cluster: cluster-c, region: us-east-1, zone: us-east-1a, addresses: [10.102.0.50], healthy: false }
          - name: cache
            namespace: app
            type: Headless
            ports: [{ name: redis, port: 6379 }]
            clusters:
              - { cluster: cluster-a, region: ap-northeast-2, zone: ap-northeast-2a, endpoints: [] }
        """

    static let registryVersion: UInt64 = 7
    static let locality = Locality(cluster: "cluster-a", region: "ap-northeast-2", zone: "ap-northeast-2a")
    static let defaultAllow = ["127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128", "fc00::/7"]

    /// The services of `registryYAML` plus two generated ones too large for a 512-octet response.
    static let services: [Service] = {
        let decoded = try! RegistryDecoder.decode(registryYAML, file: "fixture.yaml")
        return (decoded + [BigServices.wide, BigServices.crowd]).sorted {
            ($0.namespace, $0.name) < ($1.namespace, $1.name)
        }
    }()

    static func registry(_ services: [Service] = services, version: UInt64 = registryVersion) -> RegistrySnapshot {
        RegistrySnapshot(services: services, version: version, origin: "fixture.yaml")
    }

    static func settings(
        locality: Locality = locality, clusterNames: Bool = true, allow: [String] = defaultAllow
    ) -> PipelineSettings {
        PipelineSettings(
            ttl: 5, locality: locality, clusterNames: clusterNames, allow: allow.map { IPNetwork($0)! })
    }

    static func snapshot(
        _ settings: PipelineSettings = settings(), registry: RegistrySnapshot = registry()
    ) -> AnswerSnapshot {
        AnswerSnapshot.build(registry: registry, zones: [zone], settings: settings)
    }

    static func processor(_ settings: PipelineSettings = settings()) -> QueryProcessor {
        QueryProcessor(snapshot: snapshot(settings))
    }

    /// Built once: most tables only read it.
    static let shared = processor()

    /// supercluster.local as a zone file would give it: SOA TTL 60 and MINIMUM 30, so negative answers live 30 s.
    static let zone: AuthoritativeZone = {
        let origin = name("supercluster.local.")
        let ns1 = name("ns1.supercluster.local.")
        let soa = SOARecord(
            primary: ns1, mailbox: name("hostmaster.supercluster.local."), serial: 2_024_010_101, refresh: 7200,
            retry: 3600, expire: 1_209_600, minimum: 30)
        return AuthoritativeZone(
            origin: origin,
            soa: ResourceRecord(name: origin, ttl: 60, data: .soa(soa)),
            nameServers: [ResourceRecord(name: origin, ttl: 60, data: .ns(ns1))],
            records: [
                ResourceRecord(name: ns1, ttl: 60, data: .a(IPv4Address(rawValue: 0x7F00_0001))),
                ResourceRecord(
                    name: name("gateway.supercluster.local."), ttl: 60, data: .a(IPv4Address(rawValue: 0x0A00_0001))),
                ResourceRecord(
                    name: name("docs.supercluster.local."), ttl: 60, data: .cname(name("gateway.supercluster.local."))),
                ResourceRecord(name: name("info.supercluster.local."), ttl: 60, data: .txt("scdns test zone")),
            ])
    }()

    static func name(_ text: String) -> DNSName { try! DNSName(text) }

    /// The SOA records negative answers carry, in presentation format.
    enum SOA {
        static let supercluster =
            "supercluster.local. 30 IN SOA ns1.supercluster.local. hostmaster.supercluster.local. "
            + "2024010101 7200 3600 1209600 30"
        static let clusterset =
            "clusterset.local. 5 IN SOA ns.dns.clusterset.local. hostmaster.clusterset.local. 7 7200 1800 86400 5"
        static let global = "global. 5 IN SOA ns.dns.global. hostmaster.global. 7 7200 1800 86400 5"
    }
}

/// Services whose answers do not fit in 512 octets.
enum BigServices {
    /// 40 clusters with one IPv6 address each: about 1,170 octets of AAAA, under the 1,232 cap.
    static let wide = Service(
        name: "wide", namespace: "app", ports: [ServicePort(name: "http", port: 80)],
        clusters: (0..<40).map { index in
            ClusterExport(
                locality: Locality(cluster: "w\(index)", region: "eu-west-1", zone: "eu-west-1a"),
                addresses: [IPAddress("fd00:200::\(index + 1)")!])
        })

    /// A headless service with 100 ready endpoints in cluster-a: about 1,650 octets of A, over the cap.
    static let crowd = Service(
        name: "crowd", namespace: "app", type: .headless,
        clusters: [
            ClusterExport(
                locality: PipelineFixture.locality,
                endpoints: (0..<100).map {
                    Endpoint(hostname: "pod-\($0)", addresses: [IPAddress("10.103.0.\($0 + 1)")!])
                })
        ])

    static let wideAnswer = (0..<40).map { "wide.app.svc.supercluster.local. 5 IN AAAA fd00:200::\($0 + 1)" }
    static let crowdAnswer = (0..<100).map { "crowd.app.svc.supercluster.local. 5 IN A 10.103.0.\($0 + 1)" }
}
