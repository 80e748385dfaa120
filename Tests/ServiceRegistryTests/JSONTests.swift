import XCTest

@testable import ServiceRegistry

/// JSON goes through the YAML path; a JSON registry must decode exactly like its YAML twin.
final class JSONTests: XCTestCase {
    private let yaml = """
        services:
          - name: backend
            namespace: app
            type: ClusterSetIP
            vip: 240.0.0.10
            ports:
              - { name: http, port: 80, protocol: TCP }
            clusters:
              - cluster: cluster-b
                region: ap-northeast-2
                zone: ap-northeast-2a
                addresses: [10.100.12.7, "fd00:100::7"]
                weight: 100
                healthy: true
          - name: db
            namespace: app
            type: Headless
            clusters:
              - cluster: cluster-a
                endpoints:
                  - { hostname: db-0, addresses: [10.100.3.4], ready: true }
                  - { hostname: db-1, addresses: [10.100.3.5], ready: false }
        """

    private let json = """
        {
          "services": [
            {
              "name": "backend", "namespace": "app", "type": "ClusterSetIP", "vip": "240.0.0.10",
              "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
              "clusters": [
                {
                  "cluster": "cluster-b", "region": "ap-northeast-2", "zone": "ap-northeast-2a",
                  "addresses": ["10.100.12.7", "fd00:100::7"], "weight": 100, "healthy": true
                }
              ]
            },
            {
              "name": "db", "namespace": "app", "type": "Headless",
              "clusters": [
                {
                  "cluster": "cluster-a",
                  "endpoints": [
                    {"hostname": "db-0", "addresses": ["10.100.3.4"], "ready": true},
                    {"hostname": "db-1", "addresses": ["10.100.3.5"], "ready": false}
                  ]
                }
              ]
            }
          ]
        }
        """

    func testJSONDecodesLikeYAML() throws {
        let fromYAML = try RegistryDecoder.decode(yaml, file: "registry.yaml")
        let fromJSON = try RegistryDecoder.decode(json, file: "registry.json")
        XCTAssertEqual(fromYAML.count, 2)
        XCTAssertEqual(fromJSON, fromYAML)
    }

    func testJSONErrorsHaveLinesToo() {
        let broken = json.replacingOccurrences(of: #""port": 80"#, with: #""port": "80""#)
        XCTAssertThrowsError(try RegistryDecoder.decode(broken, file: "registry.json")) { error in
            let error = error as? RegistryError
            XCTAssertEqual(error?.field, "services[0].ports[0].port")
            XCTAssertEqual(error?.line, 5)
            XCTAssertEqual(error?.file, "registry.json")
        }
        let misspelt = json.replacingOccurrences(of: #""healthy""#, with: #""healty""#)
        XCTAssertThrowsError(try RegistryDecoder.decode(misspelt, file: "registry.json")) { error in
            XCTAssertEqual((error as? RegistryError)?.field, "services[0].clusters[0].healty")
            XCTAssertEqual((error as? RegistryError)?.line, 9)
        }
    }

    /// The flat etcd value of DESIGN.md section 2, verbatim.
    func testFlatExportFromTheDesign() throws {
        let value = """
            {"name":"backend","namespace":"app","type":"ClusterSetIP","ports":[{"name":"http","port":80,\
            "protocol":"TCP"}],"cluster":"cluster-b","region":"ap-northeast-2","zone":"ap-northeast-2a",\
            "addresses":["10.100.12.7"],"weight":100,"healthy":true}
            """
        let service = try RegistryDecoder.decodeExport(value, file: "/scdns/v1/clusters/cluster-b/services/app/backend")
        XCTAssertEqual(
            service,
            Service(
                name: "backend",
                namespace: "app",
                ports: [ServicePort(name: "http", port: 80)],
                clusters: [
                    ClusterExport(
                        locality: Locality(cluster: "cluster-b", region: "ap-northeast-2", zone: "ap-northeast-2a"),
                        addresses: [IPAddress("10.100.12.7")!]
                    )
                ]
            )
        )
        XCTAssertThrowsError(
            try RegistryDecoder.decodeExport(#"{"name":"a","namespace":"app","clusters":[]}"#, file: "k")
        ) { error in
            XCTAssertEqual((error as? RegistryError)?.field, "clusters")
        }
        XCTAssertThrowsError(try RegistryDecoder.decodeExport(#"{"name":"a","namespace":"app"}"#, file: "k")) {
            XCTAssertEqual(($0 as? RegistryError)?.field, "cluster")
        }
        XCTAssertThrowsError(try RegistryDecoder.decodeExport("", file: "k"))
    }
}
