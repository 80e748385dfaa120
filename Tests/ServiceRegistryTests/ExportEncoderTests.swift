import ServiceRegistry
import XCTest

/// The publisher writes what `ExportEncoder` produces and every instance reads it with `decodeExport`: the two
/// must agree on every field, defaults included.
final class ExportEncoderTests: XCTestCase {
    func testEveryExportOfTheExampleRegistryRoundTrips() throws {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("registry.yaml"), encoding: .utf8)
        let services = try RegistryDecoder.decode(text, file: "registry.yaml")
        XCTAssertFalse(services.isEmpty)
        for service in services {
            for cluster in service.clusters {
                let json = ExportEncoder.flatJSON(service, cluster: cluster)
                let decoded = try RegistryDecoder.decodeExport(json, file: "k")
                var expected = service
                expected.clusters = [cluster]
                XCTAssertEqual(decoded, expected, json)
            }
        }
    }

    func testDefaultsAreLeftOutAndOtherValuesWritten() throws {
        let plain = Service(
            name: "api", namespace: "app", ports: [ServicePort(name: "http", port: 80)],
            clusters: [ClusterExport(locality: Locality(cluster: "c1"), addresses: [IPAddress("10.0.0.1")!])])
        XCTAssertEqual(
            ExportEncoder.flatJSON(plain, cluster: plain.clusters[0]),
            #"{"name":"api","namespace":"app","ports":[{"name":"http","port":80,"protocol":"TCP"}],"#
                + #""cluster":"c1","addresses":["10.0.0.1"]}"#)

        let headless = Service(
            name: "db", namespace: "app", type: .headless,
            clusters: [
                ClusterExport(
                    locality: Locality(cluster: "c2", region: "r\"1", zone: "z\n"), weight: 7, healthy: false,
                    endpoints: [Endpoint(hostname: "db-0", addresses: [IPAddress("fd00::1")!], ready: false)])
            ])
        let json = ExportEncoder.flatJSON(headless, cluster: headless.clusters[0])
        XCTAssertEqual(
            json,
            #"{"name":"db","namespace":"app","type":"Headless","cluster":"c2","region":"r\"1","zone":"z\n","#
                + #""weight":7,"healthy":false,"endpoints":[{"hostname":"db-0","addresses":["fd00::1"],"#
                + #""ready":false}]}"#)
        // Quotes and newlines are escaped in the JSON; such a region and zone are no longer valid label values, so
        // the decoder refuses them. With valid ones, the export comes back as it went.
        XCTAssertThrowsError(try RegistryDecoder.decodeExport(json, file: "k"))
        var valid = headless
        valid.clusters[0].locality = Locality(cluster: "c2", region: "r1", zone: "z1.a")
        XCTAssertEqual(
            try RegistryDecoder.decodeExport(ExportEncoder.flatJSON(valid, cluster: valid.clusters[0]), file: "k"),
            valid)
    }
}
