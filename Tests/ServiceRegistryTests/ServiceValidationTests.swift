import XCTest

@testable import ServiceRegistry

/// The service-level rules: document shape, names, type, vip, ports. Every case pins the field path and line.
final class ServiceValidationTests: XCTestCase {
    func testDocumentShape() {
        let cases = [
            RejectionCase(
                name: "services is a mapping",
                yaml: "services: {}\n",
                field: "services", line: 1, column: 11, message: "expected a list, got a mapping"
            ),
            RejectionCase(
                name: "root is a list",
                yaml: "- name: backend\n",
                field: "", line: 1, column: 1, message: "expected a mapping"
            ),
            RejectionCase(
                name: "unknown top-level key",
                yaml: "services: []\nservice: []\n",
                field: "service", line: 2, column: 1, message: "unknown field 'service'; did you mean 'services'?"
            ),
            RejectionCase(
                name: "entry is a string",
                yaml: "services:\n  - backend\n",
                field: "services[0]", line: 2, column: 5, message: "expected a mapping"
            ),
            RejectionCase(
                name: "unknown key in a service",
                yaml: """
                    services:
                      - name: backend
                        namespace: app
                        typ: Headless
                        clusters: [{ cluster: cluster-a }]
                    """,
                field: "services[0].typ", line: 4, column: 5, message: "unknown field 'typ'; did you mean 'type'?"
            ),
        ]
        for testCase in cases { assertRejects(testCase) }
    }

    /// An empty registry is said with `services: []`. A file with no document, or without a `services` list, is
    /// what a truncating writer (`cat x > registry.yaml`, `curl -o`) leaves for a moment: taking it as "no
    /// services" deleted every export of a cluster, so it is rejected like any invalid file.
    func testOnlyAnExplicitEmptyListIsAnEmptyRegistry() {
        XCTAssertEqual(decodeValid("services: []\n"), [])
        XCTAssertEqual(decodeValid("# nothing exported yet\nservices: []  # on purpose\n"), [])
        for yaml in ["", "\n", "# only a comment\n", "services:\n", "{}\n", "---\n", "~\n"] {
            XCTAssertThrowsError(try RegistryDecoder.decode(yaml, file: "registry.yaml"), "'\(yaml)'") {
                let error = $0 as? RegistryError
                XCTAssertEqual(error?.file, "registry.yaml")
                XCTAssertEqual(error?.field, "services", "'\(yaml)'")
                XCTAssertTrue(error?.message.contains("services: []") ?? false, "\(String(describing: error))")
            }
        }
    }

    func testNamesAndNamespaces() {
        func entry(name: String, namespace: String = "app") -> String {
            """
            services:
              - name: \(name)
                namespace: \(namespace)
                clusters: [{ cluster: cluster-a }]
            """
        }
        let cases = [
            RejectionCase(
                name: "uppercase", yaml: entry(name: "Backend"),
                field: "services[0].name", line: 2, column: 11, message: "'Backend' is not a DNS label"
            ),
            RejectionCase(
                name: "underscore", yaml: entry(name: "back_end"),
                field: "services[0].name", line: 2, message: "is not a DNS label"
            ),
            RejectionCase(
                name: "leading hyphen", yaml: entry(name: "-backend"),
                field: "services[0].name", line: 2, message: "must start and end with a letter or digit"
            ),
            RejectionCase(
                name: "trailing hyphen", yaml: entry(name: "backend-"),
                field: "services[0].name", line: 2, message: "must start and end with a letter or digit"
            ),
            RejectionCase(
                name: "64 characters", yaml: entry(name: String(repeating: "a", count: 64)),
                field: "services[0].name", line: 2, message: "longer than 63 characters"
            ),
            RejectionCase(
                name: "empty", yaml: entry(name: "\"\""),
                field: "services[0].name", line: 2, message: "must not be empty"
            ),
            RejectionCase(
                name: "number", yaml: entry(name: "80"),
                field: "services[0].name", line: 2, message: "expected a string, got the integer 80"
            ),
            RejectionCase(
                name: "dotted namespace", yaml: entry(name: "backend", namespace: "app.prod"),
                field: "services[0].namespace", line: 3, column: 16, message: "is not a DNS label"
            ),
            RejectionCase(
                name: "missing name",
                yaml: "services:\n  - namespace: app\n    clusters: [{ cluster: cluster-a }]\n",
                field: "services[0].name", line: 2, column: 5, message: "missing required field 'name'"
            ),
            RejectionCase(
                name: "missing namespace",
                yaml: "services:\n  - name: backend\n    clusters: [{ cluster: cluster-a }]\n",
                field: "services[0].namespace", line: 2, message: "missing required field 'namespace'"
            ),
            RejectionCase(
                name: "null name",
                yaml: "services:\n  - name:\n    namespace: app\n    clusters: [{ cluster: cluster-a }]\n",
                field: "services[0].name", line: 2, column: 5, message: "'name' must have a value"
            ),
        ]
        for testCase in cases { assertRejects(testCase) }
        // 63 characters and digits are fine.
        XCTAssertEqual(decodeValid(entry(name: String(repeating: "a", count: 63))).count, 1)
        XCTAssertEqual(decodeValid(entry(name: "\"0\"", namespace: "a-1")).first?.name, "0")
    }

    func testTypeAndVip() {
        let cases = [
            RejectionCase(
                name: "type in lowercase",
                yaml:
                    "services:\n  - name: a\n    namespace: app\n    type: clusterip\n    clusters: [{ cluster: c }]\n",
                field: "services[0].type", line: 4, column: 11,
                message: "'clusterip' is not one of ClusterSetIP, Headless"
            ),
            RejectionCase(
                name: "vip on a headless service",
                yaml: """
                    services:
                      - name: db
                        namespace: app
                        type: Headless
                        vip: 240.0.0.10
                        clusters: [{ cluster: c }]
                    """,
                field: "services[0].vip", line: 5, column: 10, message: "a Headless service has no vip"
            ),
            RejectionCase(
                name: "vip out of range",
                yaml: "services:\n  - name: a\n    namespace: app\n    vip: 240.0.0.256\n"
                    + "    clusters: [{ cluster: c }]\n",
                field: "services[0].vip", line: 4, message: "'240.0.0.256' is not an IPv4 or IPv6 address"
            ),
        ]
        for testCase in cases { assertRejects(testCase) }
        let services = decodeValid(
            "services:\n  - name: a\n    namespace: app\n    vip: \"fd00::10\"\n    clusters: [{ cluster: c }]\n"
        )
        XCTAssertEqual(services.first?.vip, IPAddress("fd00::10"))
        XCTAssertEqual(services.first?.type, .clusterSetIP)
    }

    func testPorts() {
        func entry(_ ports: String) -> String {
            "services:\n  - name: a\n    namespace: app\n    clusters: [{ cluster: c }]\n    ports:\n\(ports)"
        }
        let cases = [
            RejectionCase(
                name: "port zero", yaml: entry("      - { port: 0 }\n"),
                field: "services[0].ports[0].port", line: 6, column: 17, message: "0 is out of range 1...65535"
            ),
            RejectionCase(
                name: "port too large", yaml: entry("      - { port: 65536 }\n"),
                field: "services[0].ports[0].port", line: 6, message: "65536 is out of range 1...65535"
            ),
            RejectionCase(
                name: "port as a string", yaml: entry("      - { port: \"80\" }\n"),
                field: "services[0].ports[0].port", line: 6,
                message: "expected an integer, got the string \"80\" (write numbers without quotes)"
            ),
            RejectionCase(
                name: "port as a float", yaml: entry("      - { port: 80.5 }\n"),
                field: "services[0].ports[0].port", line: 6, message: "expected an integer, got the number 80.5"
            ),
            RejectionCase(
                name: "missing port", yaml: entry("      - { name: http }\n"),
                field: "services[0].ports[0].port", line: 6, message: "missing required field 'port'"
            ),
            RejectionCase(
                name: "lowercase protocol", yaml: entry("      - { port: 80, protocol: tcp }\n"),
                field: "services[0].ports[0].protocol", line: 6, column: 31,
                message: "'tcp' is not one of TCP, UDP, SCTP"
            ),
            RejectionCase(
                name: "uppercase name", yaml: entry("      - { name: HTTP, port: 80 }\n"),
                field: "services[0].ports[0].name", line: 6, message: "'HTTP' is not a DNS label"
            ),
            RejectionCase(
                name: "digits-only name", yaml: entry("      - { name: \"8080\", port: 80 }\n"),
                field: "services[0].ports[0].name", line: 6, message: "must contain at least one letter"
            ),
            RejectionCase(
                name: "double hyphen", yaml: entry("      - { name: my--port, port: 80 }\n"),
                field: "services[0].ports[0].name", line: 6, message: "must not contain '--'"
            ),
            RejectionCase(
                name: "64-character name",
                yaml: entry("      - { name: \(String(repeating: "p", count: 64)), port: 80 }\n"),
                field: "services[0].ports[0].name", line: 6, message: "longer than 63 characters"
            ),
            RejectionCase(
                name: "duplicate name",
                yaml: entry("      - { name: http, port: 80 }\n      - { name: http, port: 8080 }\n"),
                field: "services[0].ports[1].name", line: 7, column: 17,
                message: "port name 'http' is already used by ports[0]"
            ),
            RejectionCase(
                name: "duplicate unnamed port",
                yaml: entry("      - { port: 80 }\n      - { port: 80, protocol: TCP }\n"),
                field: "services[0].ports[1].port", line: 7, message: "80/TCP is listed twice (also ports[0])"
            ),
            RejectionCase(
                name: "unknown port key", yaml: entry("      - { port: 80, targetPort: 8080 }\n"),
                field: "services[0].ports[0].targetPort", line: 6, message: "unknown field 'targetPort'"
            ),
        ]
        for testCase in cases { assertRejects(testCase) }

        let ports = decodeValid(
            entry(
                "      - { name: dns, port: 53, protocol: UDP }\n      - { name: dns-tcp, port: 53 }\n"
                    + "      - { port: 3868, protocol: SCTP }\n"
                    + "      - { name: \(String(repeating: "p", count: 63)), port: 1 }\n"
            )
        ).first?.ports
        XCTAssertEqual(
            ports,
            [
                ServicePort(name: "dns", port: 53, portProtocol: .udp),
                ServicePort(name: "dns-tcp", port: 53, portProtocol: .tcp),
                ServicePort(name: nil, port: 3868, portProtocol: .sctp),
                ServicePort(name: String(repeating: "p", count: 63), port: 1, portProtocol: .tcp),
            ]
        )
    }

    /// The error text an operator reads: file, line, column, field and message in the compiler's format.
    func testErrorDescriptionNamesFileLineColumnAndField() {
        let yaml = """
            services:
            - name: a
              namespace: app
              clusters:
              - cluster: cluster-a
                addresses: [10.0.0.1]
            - name: b
              namespace: app
              clusters:
              - cluster: cluster-a
                addresses: [10.0.0.2,
                    10.0.0.300]
            """
        XCTAssertThrowsError(try RegistryDecoder.decode(yaml, file: "registry.yaml")) { error in
            XCTAssertEqual(
                "\(error)",
                "registry.yaml:12:9: services[1].clusters[0].addresses[1]: '10.0.0.300' is not an IPv4 or IPv6 address"
            )
        }
        XCTAssertEqual(RegistryError(file: "r.yaml", message: "cannot read").description, "r.yaml: cannot read")
        XCTAssertEqual(
            RegistryError(file: "r.yaml", line: 3, field: "services", message: "bad").description,
            "r.yaml:3: services: bad"
        )
    }
}
