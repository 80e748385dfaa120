import XCTest

@testable import ServiceRegistry

/// The cluster-level and endpoint rules. Every case pins the field path and line.
final class ClusterValidationTests: XCTestCase {
    /// A one-service document whose `clusters:` list starts on line 5.
    private func document(type: String = "ClusterSetIP", clusters: String) -> String {
        "services:\n  - name: a\n    namespace: app\n    type: \(type)\n    clusters:\n\(clusters)"
    }

    /// A Headless service whose one cluster has one endpoint, on line 8.
    private func headless(endpoint: String) -> String {
        document(
            type: "Headless", clusters: "      - cluster: cluster-a\n        endpoints:\n          - \(endpoint)\n")
    }

    func testClusters() {
        let cases = [
            RejectionCase(
                name: "clusters missing",
                yaml: "services:\n  - name: a\n    namespace: app\n",
                field: "services[0].clusters", line: 2, column: 5, message: "missing required field 'clusters'"
            ),
            RejectionCase(
                name: "clusters empty",
                yaml: "services:\n  - name: a\n    namespace: app\n    clusters: []\n",
                field: "services[0].clusters", line: 4, column: 15, message: "at least one cluster"
            ),
            RejectionCase(
                name: "cluster name missing",
                yaml: document(clusters: "      - region: us-east-1\n"),
                field: "services[0].clusters[0].cluster", line: 6, column: 9,
                message: "missing required field 'cluster'"
            ),
            RejectionCase(
                name: "cluster name not a label",
                yaml: document(clusters: "      - cluster: Cluster_A\n"),
                field: "services[0].clusters[0].cluster", line: 6, column: 18, message: "is not a DNS label"
            ),
            RejectionCase(
                name: "misspelt key",
                yaml: document(clusters: "      - cluster: cluster-a\n        adresses: [10.0.0.1]\n"),
                field: "services[0].clusters[0].adresses", line: 7, column: 9,
                message: "unknown field 'adresses'; did you mean 'addresses'?"
            ),
            RejectionCase(
                name: "region as a number",
                yaml: document(clusters: "      - cluster: cluster-a\n        region: 1\n"),
                field: "services[0].clusters[0].region", line: 7,
                message: "expected a string, got the integer 1 (quote it to make it a string)"
            ),
            RejectionCase(
                name: "zone as a list",
                yaml: document(clusters: "      - cluster: cluster-a\n        zone: [a]\n"),
                field: "services[0].clusters[0].zone", line: 7, message: "expected a string, got a list"
            ),
            RejectionCase(
                name: "bad address",
                yaml: document(clusters: "      - cluster: cluster-a\n        addresses: [10.0.0.1, 10.0.0.300]\n"),
                field: "services[0].clusters[0].addresses[1]", line: 7, column: 31,
                message: "'10.0.0.300' is not an IPv4 or IPv6 address"
            ),
            RejectionCase(
                name: "addresses not a list",
                yaml: document(clusters: "      - cluster: cluster-a\n        addresses: 10.0.0.1\n"),
                field: "services[0].clusters[0].addresses", line: 7, message: "expected a list"
            ),
            RejectionCase(
                name: "duplicate address",
                yaml: document(
                    clusters: "      - cluster: cluster-a\n        addresses: [10.0.0.1, \"::1\", 10.0.0.1]\n"),
                field: "services[0].clusters[0].addresses[2]", line: 7,
                message: "10.0.0.1 is listed twice (also services[0].clusters[0].addresses[0])"
            ),
            RejectionCase(
                name: "weight zero",
                yaml: document(clusters: "      - cluster: cluster-a\n        weight: 0\n"),
                field: "services[0].clusters[0].weight", line: 7, column: 17, message: "0 is out of range 1...65535"
            ),
            RejectionCase(
                name: "weight too large",
                yaml: document(clusters: "      - cluster: cluster-a\n        weight: 65536\n"),
                field: "services[0].clusters[0].weight", line: 7, message: "65536 is out of range 1...65535"
            ),
            RejectionCase(
                name: "negative weight",
                yaml: document(clusters: "      - cluster: cluster-a\n        weight: -1\n"),
                field: "services[0].clusters[0].weight", line: 7, message: "-1 is out of range 1...65535"
            ),
            RejectionCase(
                name: "weight as a string",
                yaml: document(clusters: "      - cluster: cluster-a\n        weight: '100'\n"),
                field: "services[0].clusters[0].weight", line: 7, message: "expected an integer, got the string \"100\""
            ),
            RejectionCase(
                name: "healthy as yes",
                yaml: document(clusters: "      - cluster: cluster-a\n        healthy: yes\n"),
                field: "services[0].clusters[0].healthy", line: 7, column: 18,
                message: "expected true or false, got the string \"yes\""
            ),
            RejectionCase(
                name: "healthy quoted",
                yaml: document(clusters: "      - cluster: cluster-a\n        healthy: \"false\"\n"),
                field: "services[0].clusters[0].healthy", line: 7, message: "expected true or false"
            ),
            RejectionCase(
                name: "healthy as a number",
                yaml: document(clusters: "      - cluster: cluster-a\n        healthy: 1\n"),
                field: "services[0].clusters[0].healthy", line: 7, message: "got the integer 1"
            ),
            RejectionCase(
                name: "same cluster twice in one entry",
                yaml: document(
                    clusters: "      - cluster: cluster-a\n      - cluster: cluster-b\n      - cluster: cluster-a\n"),
                field: "services[0].clusters[2].cluster", line: 8, column: 18,
                message: "cluster 'cluster-a' already exports app/a in services[0].clusters[0]"
            ),
        ]
        for testCase in cases { assertRejects(testCase) }
    }

    func testEndpoints() {
        let cases = [
            RejectionCase(
                name: "endpoints on a ClusterSetIP service",
                yaml: document(
                    clusters:
                        "      - cluster: cluster-a\n        endpoints: [{ hostname: a-0, addresses: [10.0.0.1] }]\n"
                ),
                field: "services[0].clusters[0].endpoints", line: 7, column: 20,
                message: "endpoints are only for Headless services"
            ),
            RejectionCase(
                name: "hostname not a label",
                yaml: headless(endpoint: "{ hostname: DB_0, addresses: [10.0.0.1] }"),
                field: "services[0].clusters[0].endpoints[0].hostname", line: 8, column: 25,
                message: "'DB_0' is not a DNS label"
            ),
            RejectionCase(
                name: "hostname missing",
                yaml: document(
                    type: "Headless",
                    clusters: "      - cluster: cluster-a\n        endpoints:\n          - { addresses: [10.0.0.1] }\n"
                ),
                field: "services[0].clusters[0].endpoints[0].hostname", line: 8, message: "missing required field"
            ),
            RejectionCase(
                name: "duplicate hostname",
                yaml: document(
                    type: "Headless",
                    clusters: """
                              - cluster: cluster-a
                                endpoints:
                                  - { hostname: db-0, addresses: [10.0.0.1] }
                                  - { hostname: db-0, addresses: [10.0.0.2] }

                        """
                ),
                field: "services[0].clusters[0].endpoints[1].hostname", line: 9, column: 25,
                message: "hostname 'db-0' is already used by services[0].clusters[0].endpoints[0] in this cluster"
            ),
            RejectionCase(
                name: "endpoint address invalid",
                yaml: headless(endpoint: "{ hostname: db-0, addresses: [\"fe80::1%eth0\"] }"),
                field: "services[0].clusters[0].endpoints[0].addresses[0]", line: 8,
                message: "'fe80::1%eth0' is not an IPv4 or IPv6 address"
            ),
            RejectionCase(
                name: "endpoint without addresses",
                yaml: headless(endpoint: "{ hostname: db-0, addresses: [] }"),
                field: "services[0].clusters[0].endpoints[0].addresses", line: 8, message: "at least one address"
            ),
            RejectionCase(
                name: "ready as a string",
                yaml: headless(endpoint: "{ hostname: db-0, addresses: [10.0.0.1], ready: \"true\" }"),
                field: "services[0].clusters[0].endpoints[0].ready", line: 8, message: "expected true or false"
            ),
            RejectionCase(
                name: "unknown endpoint key",
                yaml: headless(endpoint: "{ hostname: db-0, address: [10.0.0.1] }"),
                field: "services[0].clusters[0].endpoints[0].address", line: 8,
                message: "unknown field 'address'; did you mean 'addresses'?"
            ),
        ]
        for testCase in cases { assertRejects(testCase) }
    }

    /// What the review of issue 13 found accepted and silently dropped, or unbounded: each is now rejected with its
    /// field and line.
    func testWhatWasSilentlyDroppedOrUnboundedIsRejected() {
        let cases = [
            RejectionCase(
                name: "addresses on a Headless export (they were dropped: a headless answer is its endpoints)",
                yaml: document(
                    type: "Headless",
                    clusters: "      - cluster: cluster-a\n        addresses: [10.0.0.1]\n        endpoints: []\n"),
                field: "services[0].clusters[0].addresses", line: 7,
                message: "a Headless export answers with its endpoints"
            ),
            RejectionCase(
                name: "an IPv4-mapped IPv6 address (it passed the duplicate check beside its IPv4 form)",
                yaml: document(
                    clusters: "      - cluster: cluster-a\n        addresses: [10.0.0.1, \"::ffff:10.0.0.1\"]\n"),
                field: "services[0].clusters[0].addresses[1]", line: 7,
                message: "'::ffff:10.0.0.1' is an IPv4-mapped IPv6 address: write 10.0.0.1"
            ),
            RejectionCase(
                name: "region of free text",
                yaml: document(clusters: "      - cluster: cluster-a\n        region: \"us east 1; drop\"\n"),
                field: "services[0].clusters[0].region", line: 7,
                message: "a label value of at most 63 characters"
            ),
            RejectionCase(
                name: "zone too long",
                yaml: document(
                    clusters: "      - cluster: cluster-a\n        zone: \(String(repeating: "z", count: 64))\n"),
                field: "services[0].clusters[0].zone", line: 7,
                message: "a label value of at most 63 characters"
            ),
        ]
        for testCase in cases { assertRejects(testCase) }
        // Kubernetes topology label values are what these hold: they stay valid.
        XCTAssertEqual(
            decodeValid(document(clusters: "      - { cluster: c, region: us-east-1, zone: us_east.1a-X }\n"))
                .first?.clusters.first?.locality.zone, "us_east.1a-X")
    }

    /// A value echoed into an error (and so into a log line) cannot forge log lines or terminal escapes.
    func testValuesInErrorsAreEscaped() {
        let yaml = document(
            clusters: "      - cluster: cluster-a\n        addresses: [\"10.0.0.1\\nlevel=error forged\\u001b[31m\"]\n")
        XCTAssertThrowsError(try RegistryDecoder.decode(yaml, file: "registry.yaml")) { error in
            let text = "\(error)"
            XCTAssertFalse(text.contains("\n"), text)
            XCTAssertFalse(text.contains("\u{1B}"), text)
            XCTAssertTrue(text.contains("10.0.0.1\\nlevel=error forged\\u{1B}[31m"), text)
        }
    }

    /// The duplicate checks are linear: a value with many addresses costs what reading them costs. (Their time is a
    /// benchmark's business; this pins that the check still finds a duplicate at the end of a long list.)
    func testADuplicateAtTheEndOfALongListIsFound() {
        let addresses = (0..<20_000).map { "10.\($0 >> 16).\(($0 >> 8) & 0xFF).\($0 & 0xFF)" } + ["10.0.0.0"]
        let yaml = document(
            clusters: "      - cluster: cluster-a\n        addresses: [\(addresses.joined(separator: ", "))]\n")
        XCTAssertThrowsError(try RegistryDecoder.decode(yaml, file: "registry.yaml")) { error in
            XCTAssertTrue("\(error)".contains("10.0.0.0 is listed twice (also services[0].clusters[0].addresses[0])"))
        }
    }

    func testDefaultsAndScaledToZero() throws {
        let services = decodeValid(
            """
            services:
              - name: db
                namespace: app
                type: Headless
                clusters:
                  - cluster: cluster-a
                    endpoints:
                      - { hostname: db-0, addresses: [10.0.0.1, "fd00::1"] }
                      - { hostname: db-1, addresses: [10.0.0.2], ready: false }
                  - cluster: cluster-b
                    endpoints: []
                  - cluster: cluster-c
                    region: us-east-1
                    endpoints:
                      - { hostname: db-0, addresses: [10.2.0.1], ready: false }
              - name: web
                namespace: app
                clusters:
                  - cluster: cluster-a
                    addresses: [1:2:3:4:5:6:7:8, 10.0.0.1]
                    weight: 65535
                    healthy: false
                  - { cluster: cluster-b, region: ap-northeast-2, zone: ap-northeast-2c, weight: 1, healthy: true }
            """
        )
        XCTAssertEqual(services.count, 2)
        let db = try XCTUnwrap(services.first)
        XCTAssertEqual(
            db.clusters[0].endpoints[0],
            Endpoint(hostname: "db-0", addresses: [IPAddress("10.0.0.1")!, IPAddress("fd00::1")!], ready: true))
        XCTAssertFalse(db.clusters[0].endpoints[1].ready)
        XCTAssertEqual(db.clusters[1].endpoints, [])
        XCTAssertEqual(db.clusters[2].locality, Locality(cluster: "cluster-c", region: "us-east-1", zone: ""))
        XCTAssertEqual(db.clusters[2].weight, 100)
        XCTAssertTrue(db.clusters[2].healthy)

        let web = try XCTUnwrap(services.last)
        // An unquoted IPv6 address with eight groups is a string under the strict schema, not a base-60 number.
        XCTAssertEqual(web.clusters[0].addresses.map(\.description), ["1:2:3:4:5:6:7:8", "10.0.0.1"])
        XCTAssertEqual(web.clusters.map(\.weight), [65535, 1])
        XCTAssertEqual(web.clusters.map(\.healthy), [false, true])
        XCTAssertEqual(web.clusters[1].locality.zone, "ap-northeast-2c")
        XCTAssertEqual(web.clusters[0].endpoints, [])
    }
}
