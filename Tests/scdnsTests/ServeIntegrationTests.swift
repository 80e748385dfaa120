import XCTest

/// `scdns serve` with the repository's example zones and registry, queried by dig and kdig over UDP and TCP.
final class ServeIntegrationTests: XCTestCase {
    // One server for the whole class: XCTest runs these serially on one thread.
    nonisolated(unsafe) private static var server: ServerProcess?

    private var port: Int { Self.server?.port ?? 0 }

    override func setUpWithError() throws {
        if Self.server == nil || Self.server?.process.isRunning == false {
            Self.server = try ServerProcess(arguments: ["--config", "scdns.yaml"])
        }
    }

    override class func tearDown() {
        _ = server?.stop()
        server = nil
    }

    private func answer(_ arguments: [String]) throws -> [String] {
        Tools.records(try Tools.dig(port: port, ["+noall", "+answer"] + arguments))
    }

    func testServiceNameOverUDPAndTCPOwnClusterFirst() throws {
        let expected = [
            "backend.app.svc.supercluster.local. 5 IN A 10.100.0.10",
            "backend.app.svc.supercluster.local. 5 IN A 10.101.0.10",
            "backend.app.svc.supercluster.local. 5 IN A 10.102.0.10",
        ]
        XCTAssertEqual(try answer(["backend.app.svc.supercluster.local", "A"]), expected)
        XCTAssertEqual(try answer(["+tcp", "backend.app.svc.supercluster.local", "A"]), expected)
        let full = try Tools.dig(port: port, ["backend.app.svc.supercluster.local"])
        XCTAssertEqual(Tools.status(full), "NOERROR")
        XCTAssertTrue(Tools.flags(full).contains("aa"), full)
    }

    func testClustersetZoneAndGlobalNamesAnswerTheSameData() throws {
        let clusterset = try answer(["frontend.app.svc.clusterset.local", "AAAA"])
        XCTAssertEqual(
            clusterset,
            [
                "frontend.app.svc.clusterset.local. 5 IN AAAA fd00:100::20",
                "frontend.app.svc.clusterset.local. 5 IN AAAA fd00:101::20",
            ])
        XCTAssertEqual(
            try answer(["frontend.app.global", "A"]),
            ["10.100.0.20", "10.101.0.20", "10.102.0.20"].map { "frontend.app.global. 5 IN A \($0)" })
    }

    func testHeadlessEndpointAndSRVWithAdditionalAddresses() throws {
        XCTAssertEqual(
            try answer(["db-2.cluster-b.db.app.svc.supercluster.local", "A"]),
            ["db-2.cluster-b.db.app.svc.supercluster.local. 5 IN A 10.101.1.12"])
        let srv = try Tools.dig(
            port: port, ["+noall", "+answer", "+additional", "_http._tcp.backend.app.svc.supercluster.local", "SRV"])
        let records = Tools.records(srv)
        XCTAssertEqual(
            records.first,
            "_http._tcp.backend.app.svc.supercluster.local. 5 IN SRV 0 100 80 backend.app.svc.supercluster.local.")
        XCTAssertEqual(records.filter { $0.hasPrefix("backend.app.svc.supercluster.local. 5 IN A ") }.count, 3, srv)
    }

    func testNegativeAnswersCiteTheSOA() throws {
        let nodata = try Tools.dig(port: port, ["backend.app.svc.supercluster.local", "AAAA"])
        XCTAssertEqual(Tools.status(nodata), "NOERROR")
        XCTAssertTrue(nodata.contains("ANSWER: 0, AUTHORITY: 1"), nodata)
        XCTAssertTrue(nodata.contains("supercluster.local.\t30\tIN\tSOA\tns1.supercluster.local."), nodata)
        let nxdomain = try Tools.dig(port: port, ["nothere.app.svc.supercluster.local", "A"])
        XCTAssertEqual(Tools.status(nxdomain), "NXDOMAIN")
        XCTAssertTrue(nxdomain.contains("AUTHORITY: 1"), nxdomain)
        let refused = try Tools.dig(port: port, ["example.com", "A"])
        XCTAssertEqual(Tools.status(refused), "REFUSED")
    }

    func testKdigOverUDPAndTCP() throws {
        for transport in ["+notcp", "+tcp"] {
            let result = try Tools.run(
                "kdig", ["@127.0.0.1", "-p", "\(port)", transport, "+norec", "api.app.svc.supercluster.local", "A"])
            XCTAssertEqual(result.status, 0, result.output)
            XCTAssertTrue(result.output.contains("status: NOERROR"), result.output)
            XCTAssertTrue(
                result.output.contains("api.app.svc.supercluster.local.\t5\tIN\tA\t240.0.0.10"), result.output)
            XCTAssertTrue(result.output.contains(transport == "+tcp" ? "(TCP)" : "(UDP)"), result.output)
        }
    }

    func testQuestionCaseIsEchoed() throws {
        let output = try Tools.dig(
            port: port, ["+noall", "+question", "+answer", "BackEnd.APP.svc.SuperCluster.local", "A"])
        XCTAssertTrue(output.contains(";BackEnd.APP.svc.SuperCluster.local."), output)
        XCTAssertTrue(
            Tools.records(output).contains("BackEnd.APP.svc.SuperCluster.local. 5 IN A 10.100.0.10"), output)
    }

    func testMalformedDatagramGetsFormErrAndTheServerKeepsServing() throws {
        // A header announcing one question, then a label running past the end of the packet.
        let garbage: [UInt8] = [0x12, 0x34, 0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x3F, 0x61]
        let reply = try UDPClient.exchange(garbage, port: port)
        XCTAssertEqual(Array(reply.prefix(2)), [0x12, 0x34])
        XCTAssertEqual(reply[3] & 0x0F, 1, "FORMERR")
        XCTAssertEqual(try answer(["api.app.svc.supercluster.local", "A"]).count, 1)
    }
}
