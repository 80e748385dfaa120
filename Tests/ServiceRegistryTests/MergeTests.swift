import XCTest

@testable import ServiceRegistry

/// Entries with the same (namespace, name) merge; conflicts name the later entry's field.
final class MergeTests: XCTestCase {
    func testEntriesMergeAndSort() throws {
        let services = decodeValid(
            """
            services:
              - name: web
                namespace: zeta
                clusters: [{ cluster: cluster-a }]
              - name: backend
                namespace: app
                ports:
                  - { name: http, port: 80 }
                  - { port: 9000 }
                clusters:
                  - { cluster: cluster-c, addresses: [10.102.0.1] }
              - name: backend
                namespace: app
                type: ClusterSetIP
                vip: 240.0.0.1
                ports:
                  - { name: http, port: 80, protocol: TCP }
                  - { name: grpc, port: 9090 }
                  - { port: 9000 }
                clusters:
                  - { cluster: cluster-b, addresses: [10.101.0.1] }
                  - { cluster: cluster-a, addresses: [10.100.0.1] }
              - name: backend
                namespace: app
                clusters: [{ cluster: cluster-d }]
              - name: api
                namespace: app
                clusters: [{ cluster: cluster-a }]
            """
        )
        XCTAssertEqual(services.map { "\($0.namespace)/\($0.name)" }, ["app/api", "app/backend", "zeta/web"])
        let backend = try XCTUnwrap(services.dropFirst().first)
        XCTAssertEqual(backend.clusters.map(\.cluster), ["cluster-a", "cluster-b", "cluster-c", "cluster-d"])
        XCTAssertEqual(backend.clusters[0].addresses, [IPAddress("10.100.0.1")!])
        // The vip of one entry is the service's when the others leave it out.
        XCTAssertEqual(backend.vip, IPAddress("240.0.0.1"))
        // Union by (name, port, protocol), in order of first appearance.
        XCTAssertEqual(
            backend.ports,
            [ServicePort(name: "http", port: 80), ServicePort(port: 9000), ServicePort(name: "grpc", port: 9090)]
        )
    }

    func testConflicts() {
        let cases = [
            RejectionCase(
                name: "type disagrees",
                yaml: """
                    services:
                      - name: db
                        namespace: app
                        type: Headless
                        clusters: [{ cluster: cluster-a }]
                      - name: db
                        namespace: app
                        type: ClusterSetIP
                        clusters: [{ cluster: cluster-b }]
                    """,
                field: "services[1].type", line: 8, column: 11,
                message: "ClusterSetIP disagrees with type Headless of app/db in services[0]"
            ),
            RejectionCase(
                name: "type left at its default disagrees",
                yaml: """
                    services:
                      - name: db
                        namespace: app
                        type: Headless
                        clusters: [{ cluster: cluster-a }]
                      - name: db
                        namespace: app
                        clusters: [{ cluster: cluster-b }]
                    """,
                field: "services[1].type", line: 6, column: 5,
                message: "ClusterSetIP disagrees with type Headless"
            ),
            RejectionCase(
                name: "vip disagrees",
                yaml: """
                    services:
                      - name: api
                        namespace: app
                        vip: 240.0.0.10
                        clusters: [{ cluster: cluster-a }]
                      - name: api
                        namespace: app
                        clusters: [{ cluster: cluster-b }]
                      - name: api
                        namespace: app
                        vip: 240.0.0.11
                        clusters: [{ cluster: cluster-c }]
                    """,
                field: "services[2].vip", line: 11, column: 10,
                message: "240.0.0.11 disagrees with vip 240.0.0.10 of app/api in services[0].vip"
            ),
            RejectionCase(
                name: "port name with another number",
                yaml: """
                    services:
                      - name: api
                        namespace: app
                        ports: [{ name: http, port: 80 }]
                        clusters: [{ cluster: cluster-a }]
                      - name: api
                        namespace: app
                        ports:
                          - { name: grpc, port: 9090 }
                          - { name: http, port: 8080 }
                        clusters: [{ cluster: cluster-b }]
                    """,
                field: "services[1].ports[1].port", line: 10, column: 29,
                message: "port 'http' is 8080/TCP here but 80/TCP in services[0].ports[0]"
            ),
            RejectionCase(
                name: "port name with another protocol",
                yaml: """
                    services:
                      - name: dns
                        namespace: app
                        ports: [{ name: dns, port: 53, protocol: UDP }]
                        clusters: [{ cluster: cluster-a }]
                      - name: dns
                        namespace: app
                        ports: [{ name: dns, port: 53 }]
                        clusters: [{ cluster: cluster-b }]
                    """,
                field: "services[1].ports[0].port", line: 8, message: "is 53/TCP here but 53/UDP"
            ),
            RejectionCase(
                name: "cluster exported twice",
                yaml: """
                    services:
                      - name: api
                        namespace: app
                        clusters: [{ cluster: cluster-a }, { cluster: cluster-b }]
                      - name: api
                        namespace: app
                        clusters:
                          - cluster: cluster-c
                          - cluster: cluster-b
                    """,
                field: "services[1].clusters[1].cluster", line: 9, column: 18,
                message: "cluster 'cluster-b' already exports app/api in services[0].clusters[1]"
            ),
            // Past 16 clusters a service's cluster names are looked up through an index, not a scan.
            RejectionCase(
                name: "cluster exported twice among many",
                yaml: """
                    services:
                      - name: api
                        namespace: app
                        clusters: [\((0..<20).map { "{ cluster: c\($0) }" }.joined(separator: ", "))]
                      - name: api
                        namespace: app
                        clusters: [{ cluster: c20 }, { cluster: c21 }, { cluster: c17 }]
                    """,
                field: "services[1].clusters[2].cluster", line: 7,
                message: "cluster 'c17' already exports app/api in services[0].clusters[17]"
            ),
        ]
        for testCase in cases { assertRejects(testCase) }
    }

    func testSameNameInAnotherNamespaceIsAnotherService() {
        let services = decodeValid(
            """
            services:
              - { name: api, namespace: app, clusters: [{ cluster: cluster-a }] }
              - { name: api, namespace: app2, type: Headless, clusters: [{ cluster: cluster-a }] }
            """
        )
        XCTAssertEqual(services.map(\.namespace), ["app", "app2"])
        XCTAssertEqual(services.map(\.type), [.clusterSetIP, .headless])
    }

    func testMergingSeparatelyDecodedExports() throws {
        let a = try RegistryDecoder.decodeExport(
            #"{"name":"backend","namespace":"app","ports":[{"name":"http","port":80}],"#
                + #""cluster":"cluster-b","addresses":["10.101.0.1"]}"#,
            file: "/scdns/v1/clusters/cluster-b/services/app/backend"
        )
        let b = try RegistryDecoder.decodeExport(
            #"{"name":"backend","namespace":"app","cluster":"cluster-a","addresses":["10.100.0.1"]}"#,
            file: "/scdns/v1/clusters/cluster-a/services/app/backend"
        )
        let merged = try RegistryDecoder.merge([("k1", a), ("k2", b)])
        XCTAssertEqual(merged.count, 1)
        XCTAssertEqual(merged[0].clusters.map(\.cluster), ["cluster-a", "cluster-b"])
        XCTAssertEqual(merged[0].ports, [ServicePort(name: "http", port: 80)])

        XCTAssertThrowsError(try RegistryDecoder.merge([("k1", a), ("k2", a)])) { error in
            let error = error as? RegistryError
            XCTAssertEqual(error?.file, "k2")
            XCTAssertEqual(error?.field, "cluster")
            XCTAssertEqual(error?.line, nil)
            XCTAssertEqual(error?.message, "cluster 'cluster-b' already exports app/backend in k1")
        }
    }
}
