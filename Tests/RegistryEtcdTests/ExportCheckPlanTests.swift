import HealthCheck
import RegistryEtcd
import ServiceRegistry
import XCTest

/// `scdns registry publish --check`: the grammar, which checks a file's exports get, and what failing checks do
/// to the services published.
final class ExportCheckPlanTests: XCTestCase {
    func testSpecsParseAndPrintBack() {
        let valid: [(String, CheckSpec)] = [
            ("tcp", CheckSpec(kind: .tcp)),
            ("tcp:8080", CheckSpec(kind: .tcp, port: 8080)),
            ("http:/healthz", CheckSpec(kind: .http(path: "/healthz"))),
            ("http:8081/ready?full=1", CheckSpec(kind: .http(path: "/ready?full=1"), port: 8081)),
            ("none", CheckSpec(kind: .none)),
        ]
        for (text, spec) in valid {
            XCTAssertEqual(CheckSpec(text), spec, text)
            XCTAssertEqual(CheckSpec(text)?.description, text)
        }
        for text in [
            "", "udp", "tcp:", "tcp:0", "tcp:70000", "http", "http:", "http:healthz", "http:80", "http:x/",
            "http:/a b", "TCP",
        ] {
            XCTAssertNil(CheckSpec(text), text)
        }
    }

    func testArgumentsGiveADefaultAndPerServiceChecksAndMistakesAreNamed() throws {
        let plan = try ExportCheckPlan(arguments: ["tcp", "app/api=http:/healthz", "app/db=none"])
        XCTAssertEqual(plan.everyService, CheckSpec(kind: .tcp))
        XCTAssertEqual(plan.perService["app/api"], CheckSpec(kind: .http(path: "/healthz")))
        let mistakes: [([String], String)] = [
            (["tcp", "tcp:80"], "a check for every service is given twice"),
            (["app/api=tcp", "app/api=none"], "app/api is given a check twice"),
            (["api=tcp"], "'api' is not NAMESPACE/NAME"),
            (["app/=tcp"], "'app/' is not NAMESPACE/NAME"),
            (["app/api=ping"], "'ping' is none of tcp"),
        ]
        for (arguments, message) in mistakes {
            XCTAssertThrowsError(try ExportCheckPlan(arguments: arguments), "\(arguments)") { error in
                XCTAssertTrue("\(error)".contains(message), "\(arguments): \(error)")
            }
        }
    }

    let services = [
        Service(
            name: "web", namespace: "app", ports: [ServicePort(port: 53, portProtocol: .udp), ServicePort(port: 80)],
            clusters: [
                ClusterExport(
                    locality: Locality(cluster: "c1"), addresses: [IPAddress("10.0.0.1")!, IPAddress("10.0.0.2")!])
            ]),
        Service(
            name: "db", namespace: "app", type: .headless, ports: [ServicePort(port: 5432)],
            clusters: [
                ClusterExport(
                    locality: Locality(cluster: "c1"),
                    endpoints: [
                        Endpoint(hostname: "db-0", addresses: [IPAddress("10.0.1.1")!]),
                        Endpoint(hostname: "db-1", addresses: [IPAddress("10.0.1.2")!]),
                    ])
            ]),
        Service(
            name: "dns", namespace: "app", ports: [ServicePort(port: 53, portProtocol: .udp)],
            clusters: [ClusterExport(locality: Locality(cluster: "c1"), addresses: [IPAddress("10.0.2.1")!])]),
    ]

    func tcp(_ address: String, _ port: UInt16) -> HealthCheck {
        HealthCheck(address: IPAddress(address)!, port: port)
    }

    func testEachAddressAndEndpointIsCheckedOnTheServicesFirstTCPPortOrTheOneGiven() throws {
        let plan = try ExportCheckPlan(arguments: ["tcp", "app/dns=tcp:8053", "app/db=http:8008/health"])
        XCTAssertEqual(
            try plan.checks(of: services, file: "f.yaml"),
            [
                tcp("10.0.0.1", 80), tcp("10.0.0.2", 80), tcp("10.0.2.1", 8053),
                HealthCheck(address: IPAddress("10.0.1.1")!, port: 8008, kind: .http(path: "/health")),
                HealthCheck(address: IPAddress("10.0.1.2")!, port: 8008, kind: .http(path: "/health")),
            ])
        XCTAssertThrowsError(try ExportCheckPlan(arguments: ["tcp"]).checks(of: services, file: "f.yaml")) {
            XCTAssertEqual(
                "\($0)", "f.yaml: app/dns: has no TCP port for --check tcp; give one (--check NAMESPACE/NAME=tcp:PORT)")
        }
        XCTAssertThrowsError(try ExportCheckPlan(arguments: ["app/wbe=tcp"]).checks(of: services, file: "f.yaml")) {
            XCTAssertTrue("\($0)".contains("app/wbe: has a --check but is not in the file"), "\($0)")
        }
    }

    func testAnExportIsPublishedUnhealthyOnlyWhenAllItsAddressesFailAndAnEndpointNotReady() throws {
        let plan = try ExportCheckPlan(arguments: ["tcp", "app/dns=none"])
        let oneOfTwo = plan.applying(down: [tcp("10.0.0.1", 80)], to: services)
        XCTAssertEqual(oneOfTwo[0].clusters[0].healthy, true, "10.0.0.2 still answers")
        let both = plan.applying(down: [tcp("10.0.0.1", 80), tcp("10.0.0.2", 80), tcp("10.0.1.2", 5432)], to: services)
        XCTAssertEqual(both[0].clusters[0].healthy, false)
        XCTAssertEqual(both[1].clusters[0].endpoints.map(\.ready), [true, false])
        XCTAssertEqual(both[1].clusters[0].healthy, true, "a Headless export's health is its endpoints'")
        XCTAssertEqual(both[2], services[2], "not checked")
        XCTAssertEqual(plan.applying(down: [], to: services), services)
        // A check only demotes: what the file marks unhealthy stays so when the check passes.
        var marked = services
        marked[0].clusters[0].healthy = false
        XCTAssertEqual(plan.applying(down: [tcp("10.0.1.1", 5432)], to: marked)[0].clusters[0].healthy, false)
    }
}
