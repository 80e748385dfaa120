import DNSPipeline
import DNSWire
import ServiceRegistry
import XCTest

/// `QueryProcessor.explain` (`/explain`, `scdns explain`): the locality a client is given and why, and for every
/// candidate address whether the answer holds it, where, and why, checked against the answer a query gets.
final class ExplainTests: XCTestCase {
    private typealias Fixture = LocalityFixture
    private static let clients = [("10.1.0.0/16", Fixture.b), ("10.2.0.0/16", Fixture.c)]

    private static func explain(
        _ name: String, _ type: RecordType = .a, client: String = "127.0.0.1", ecs: String? = nil,
        settings: PipelineSettings = Fixture.settings(clients: clients)
    ) -> (QueryExplanation, QueryProcessor) {
        let processor = Fixture.processor(settings)
        let explanation = processor.explain(
            name: try! DNSName(name), type: type, client: IPAddress(client)!, ecs: ecs.map { IPNetwork($0)! },
            registry: PipelineFixture.registry())
        return (explanation, processor)
    }

    /// Where the locality comes from, for each way DESIGN.md section 3 finds it.
    func testLocalityAndItsReason() {
        let rows: [(client: String, ecs: String?, source: String, network: String?, cluster: String, line: UInt)] = [
            ("127.0.0.1", nil, "instance", nil, "cluster-a", #line),
            ("10.1.5.5", nil, "address", "10.1.0.0/16", "cluster-b", #line),
            ("127.0.0.1", "10.2.3.0/24", "ecs", "10.2.0.0/16", "cluster-c", #line),
            // ECS in no network: the source address decides.
            ("10.1.5.5", "192.0.2.0/24", "address", "10.1.0.0/16", "cluster-b", #line),
            // Source prefix 0: the client opts out of ECS.
            ("10.2.1.1", "0.0.0.0/0", "address", "10.2.0.0/16", "cluster-c", #line),
        ]
        for row in rows {
            let (explanation, _) = Self.explain(Fixture.backend, client: row.client, ecs: row.ecs)
            let locality = explanation.locality
            XCTAssertEqual(locality.source, row.source, locality.reason, line: row.line)
            XCTAssertEqual(locality.network, row.network, locality.reason, line: row.line)
            XCTAssertEqual(locality.cluster, row.cluster, locality.reason, line: row.line)
            XCTAssertEqual(locality.scope != nil, row.ecs != nil, "scope only with ECS", line: row.line)
            if let network = row.network { XCTAssertTrue(locality.reason.contains(network), line: row.line) }
        }
        let (scoped, _) = Self.explain(Fixture.backend, ecs: "10.2.3.0/24")
        XCTAssertEqual(scoped.locality.scope, 16)
        XCTAssertTrue(scoped.locality.reason.hasPrefix("ECS 10.2.3.0/24"), scoped.locality.reason)
        let (none, _) = Self.explain(Fixture.backend, client: "10.1.5.5", settings: Fixture.settings())
        XCTAssertEqual(none.locality.source, "instance")
        XCTAssertTrue(none.locality.reason.contains("no clients: networks"), none.locality.reason)
    }

    /// The explanation's answer is the answer a query from that client gets, and every answered candidate sits at
    /// its position in it, nearest tier first.
    func testCandidatesMatchTheAnswerAQueryGets() throws {
        for (client, ecs, first) in [
            ("127.0.0.1", nil, Fixture.backendA), ("10.1.9.9", nil, Fixture.backendB),
            ("127.0.0.1", "10.2.0.0/24", Fixture.backendC),
        ] {
            let (explanation, processor) = Self.explain(Fixture.backend, client: client, ecs: ecs)
            var query = TestQuery(name: Fixture.backend, type: .a, edns: EDNS(udpPayloadSize: 1232))
            if let ecs { query.edns?.options = [Fixture.ecs(ecs)] }
            let response = try XCTUnwrap(exchange(query.wire, with: processor, client: .from(client)))
            XCTAssertEqual(explanation.answer?.records, response.answers.map(\.description), client)
            XCTAssertEqual(explanation.answer?.rcode, "NOERROR")
            let answered = explanation.candidates.filter(\.answered)
            XCTAssertEqual(answered.map(\.position), [1, 2, 3], client)
            XCTAssertEqual(answered.first?.address, first, client)
            for candidate in answered {
                XCTAssertTrue(
                    response.answers[candidate.position! - 1].description.hasSuffix(" " + candidate.address), client)
                XCTAssertTrue(candidate.reason.hasPrefix("tier \(candidate.tier!)"), candidate.reason)
            }
            XCTAssertEqual(answered.map { $0.tier! }, answered.map { $0.tier! }.sorted(), "nearest tier first")
            XCTAssertEqual(explanation.tiers.map(\.tier), Array(Set(answered.map { $0.tier! })).sorted())
        }
    }

    func testUnhealthyFailOpenVipAndMaxAnswers() {
        let (legacy, _) = Self.explain("legacy.app.svc.supercluster.local")
        XCTAssertEqual(legacy.failOpen, false)
        XCTAssertEqual(legacy.candidates.map(\.address), ["10.101.0.40", "10.100.0.40"])
        XCTAssertEqual(legacy.candidates.map(\.answered), [true, false])
        XCTAssertTrue(legacy.candidates[1].reason.contains("unhealthy"), legacy.candidates[1].reason)

        let (sick, _) = Self.explain("allsick.app.svc.supercluster.local")
        XCTAssertEqual(sick.failOpen, true)
        XCTAssertEqual(sick.candidates.map(\.answered), [true, true])
        XCTAssertTrue(sick.candidates.allSatisfy { $0.reason.hasPrefix("fail open") })

        let (api, _) = Self.explain("api.app.svc.supercluster.local")
        XCTAssertEqual(api.service?.vip, "240.0.0.10")
        XCTAssertEqual(api.answer?.records, ["api.app.svc.supercluster.local. 5 IN A 240.0.0.10"])
        XCTAssertEqual(api.candidates.count, 2)
        XCTAssertTrue(api.candidates.allSatisfy { !$0.answered && $0.reason.contains("vip") })

        let (cut, _) = Self.explain(Fixture.backend, settings: Fixture.settings(clients: Self.clients, maxAnswers: 1))
        XCTAssertEqual(cut.maxAnswers, 1)
        XCTAssertEqual(cut.candidates.map(\.answered), [true, false, false])
        XCTAssertTrue(cut.candidates[1].reason.contains("maxAnswers 1"), cut.candidates[1].reason)
    }

    func testOtherNamesOfAService() {
        let (cluster, _) = Self.explain("cluster-b.backend.app.svc.supercluster.local")
        XCTAssertEqual(cluster.service?.form, "cluster")
        XCTAssertEqual(cluster.candidates.map(\.address), [Fixture.backendB])
        XCTAssertEqual(cluster.candidates.first?.position, 1)

        let (headless, _) = Self.explain("db.app.svc.supercluster.local")
        XCTAssertEqual(headless.candidates.filter(\.answered).map(\.endpoint), ["db-0", "db-1", "db-2"])
        let notReady = headless.candidates.first { $0.endpoint == "db-3" }
        XCTAssertEqual(notReady?.answered, false)
        XCTAssertTrue(notReady?.reason.contains("not ready") ?? false)

        let (srv, _) = Self.explain("_postgres._tcp.db.app.global", .srv, client: "10.1.3.3")
        XCTAssertEqual(srv.service?.form, "srv")
        XCTAssertEqual(srv.service?.zone, "global.")
        // From cluster-b: its own endpoint first (priority 0), cluster-a's after (same region, priority 2).
        XCTAssertEqual(srv.candidates.filter(\.answered).map(\.endpoint), ["db-2", "db-0", "db-1"])
        XCTAssertEqual(srv.candidates.filter(\.answered).map(\.tier), [0, 2, 2])
    }

    func testNamesOutsideTheRegistry() {
        var settings = Fixture.settings(clients: Self.clients)
        settings.forwardZones = [try! DNSName("cluster.local.")]
        let (forwarded, _) = Self.explain("kubernetes.default.svc.cluster.local", settings: settings)
        XCTAssertEqual(forwarded.outcome, "forwarded")
        XCTAssertEqual(forwarded.forwardZone, "cluster.local.")
        XCTAssertNil(forwarded.answer)

        let (refused, _) = Self.explain("example.org")
        XCTAssertEqual(refused.answer?.rcode, "REFUSED")
        XCTAssertEqual(refused.service?.name, nil)

        let (missing, _) = Self.explain("nothere.app.svc.supercluster.local")
        XCTAssertEqual(missing.answer?.rcode, "NXDOMAIN")

        let (denied, _) = Self.explain(
            Fixture.backend, client: "203.0.113.9",
            settings: PipelineFixture.settings())
        XCTAssertEqual(denied.answer?.rcode, "REFUSED")
        XCTAssertTrue(denied.notes.contains { $0.contains("allow:") }, "\(denied.notes)")
    }

    /// Names that hold no candidate for the type asked say so and list none, as the answer has none.
    func testFormsAskedForTypesTheyDoNotHold() {
        let rows: [(name: String, type: RecordType, rcode: String, note: String, line: UInt)] = [
            ("cluster-b.backend.app.svc.supercluster.local", .mx, "NOERROR", "only A and AAAA", #line),
            ("db-0.cluster-a.db.app.svc.supercluster.local", .txt, "NOERROR", "only A and AAAA", #line),
            ("_postgres._tcp.db.app.svc.supercluster.local", .a, "NOERROR", "only SRV", #line),
            ("_nope._udp.db.app.svc.supercluster.local", .srv, "NXDOMAIN", "no port named _nope", #line),
            ("backend.app.svc.supercluster.local", .txt, "NOERROR", "only A and AAAA", #line),
        ]
        for row in rows {
            let (explanation, _) = Self.explain(row.name, row.type)
            XCTAssertEqual(explanation.answer?.rcode, row.rcode, row.name, line: row.line)
            XCTAssertEqual(explanation.candidates.count, 0, "\(explanation.candidates)", line: row.line)
            XCTAssertTrue(explanation.notes.contains { $0.contains(row.note) }, "\(explanation.notes)", line: row.line)
        }
        var strict = Fixture.settings(clients: Self.clients)
        strict.clusterNames = false
        let (cluster, _) = Self.explain("cluster-b.backend.app.svc.supercluster.local", settings: strict)
        XCTAssertEqual(cluster.answer?.rcode, "NXDOMAIN")
        XCTAssertEqual(cluster.candidates.count, 0)
        XCTAssertTrue(cluster.notes.contains { $0.contains("clusterNames: false") }, "\(cluster.notes)")
    }

    /// A headless SRV name lists an unhealthy export's endpoints as not answered, and why.
    func testHeadlessSRVWithAnUnhealthyExport() {
        let services = Fixture.services(
            """
            services:
              - name: db
                namespace: app
                type: Headless
                ports: [{ name: postgres, port: 5432 }]
                clusters:
                  - cluster: cluster-a
                    region: ap-northeast-2
                    zone: ap-northeast-2a
                    endpoints: [{ hostname: db-0, addresses: [10.100.1.10] }]
                  - cluster: cluster-b
                    region: ap-northeast-2
                    zone: ap-northeast-2c
                    healthy: false
                    endpoints: [{ hostname: db-2, addresses: [10.101.1.12] }]
            """)
        let processor = Fixture.processor(Fixture.settings(), services: services)
        let explanation = processor.explain(
            name: try! DNSName("_postgres._tcp.db.app.svc.supercluster.local"), type: .srv,
            client: IPAddress("127.0.0.1")!, ecs: nil, registry: PipelineFixture.registry(services))
        XCTAssertEqual(explanation.answer?.records.count, 1)
        XCTAssertEqual(explanation.candidates.map(\.endpoint), ["db-0", "db-2"])
        XCTAssertEqual(explanation.candidates.map(\.answered), [true, false])
        XCTAssertTrue(explanation.candidates[1].reason.contains("unhealthy"), explanation.candidates[1].reason)
    }
}
