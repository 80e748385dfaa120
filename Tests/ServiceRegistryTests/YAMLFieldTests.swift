import XCTest
import Yams

@testable import ServiceRegistry

/// The reader shared with the config loader: syntax errors, typing, paths and accessors.
final class YAMLFieldTests: XCTestCase {
    func testSyntaxErrorsCarryFileAndLine() {
        let cases: [(name: String, yaml: String, line: Int)] = [
            ("bad indentation", "services:\n  - name: backend\n    namespace: app\n   clusters: []\n", 4),
            ("unclosed flow sequence", "services:\n  - name: a\n    ports: [{ port: 80 }\n", 4),
            ("tab indentation", "services:\n\t- name: a\n", 2),
            ("unclosed quote", "services:\n  - name: \"a\n    namespace: app\n", 4),
            ("two documents", "services: []\n---\nservices: []\n", 2),
            ("undefined alias", "services: *nothing\n", 1),
        ]
        for testCase in cases {
            XCTAssertThrowsError(try RegistryDecoder.decode(testCase.yaml, file: "registry.yaml"), testCase.name) {
                let error = $0 as? RegistryError
                XCTAssertEqual(error?.file, "registry.yaml", testCase.name)
                XCTAssertEqual(error?.line, testCase.line, "\(testCase.name): \(String(describing: error))")
                XCTAssertNotNil(error?.column, testCase.name)
                XCTAssertTrue(
                    error?.description.hasPrefix("registry.yaml:\(testCase.line):") ?? false,
                    "\(testCase.name): \(String(describing: error))"
                )
            }
        }
    }

    func testDuplicateKeysAreErrors() {
        let yaml = "services:\n  - name: a\n    namespace: app\n    name: b\n    clusters: [{ cluster: c }]\n"
        XCTAssertThrowsError(try RegistryDecoder.decode(yaml, file: "registry.yaml")) {
            let error = $0 as? RegistryError
            XCTAssertEqual(error?.field, "name")
            XCTAssertEqual(error?.message, "duplicate key 'name' in one mapping")
            XCTAssertNotNil(error?.line)
        }
    }

    func testAnchorsAndAliasesWork() {
        let services = decodeValid(
            """
            services:
              - name: a
                namespace: app
                ports: &ports [{ name: http, port: 80 }]
                clusters: [{ cluster: c, addresses: &addresses [10.0.0.1] }]
              - name: b
                namespace: app
                ports: *ports
                clusters: [{ cluster: c, addresses: *addresses }]
            """
        )
        XCTAssertEqual(
            services.map(\.ports), [[ServicePort(name: "http", port: 80)], [ServicePort(name: "http", port: 80)]])
        XCTAssertEqual(services.last?.clusters.first?.addresses, [IPAddress("10.0.0.1")!])
    }

    func testStrictScalarTyping() throws {
        let root = try XCTUnwrap(
            YAMLField.parse(
                """
                yes: yes
                on: on
                t: true
                f: False
                n: 080
                neg: -5
                big: 99999999999999999999
                hex: 0x10
                float: 1.5
                quoted: "7"
                null1: ~
                null2:
                sexagesimal: 1:30
                limits: { udpPayload: 1232 }
                list: [a, b]
                """,
                file: "scdns.yaml"
            )
        )
        let keys = [
            "yes", "on", "t", "f", "n", "neg", "big", "hex", "float", "quoted", "null1", "null2", "sexagesimal",
            "limits", "list",
        ]
        let mapping = try root.mapping(allowing: keys)
        XCTAssertEqual(mapping.keys, keys)
        XCTAssertEqual(try mapping.required("yes").string(), "yes")
        XCTAssertEqual(try mapping.required("on").string(), "on")
        XCTAssertThrowsError(try mapping.required("yes").bool())
        XCTAssertEqual(try mapping.required("t").bool(), true)
        XCTAssertEqual(try mapping.required("f").bool(), false)
        XCTAssertEqual(try mapping.required("n").int(), 80)
        XCTAssertEqual(try mapping.required("neg").int(), -5)
        XCTAssertThrowsError(try mapping.required("neg").int(in: UInt16(0)...UInt16.max))
        XCTAssertThrowsError(try mapping.required("big").int()) {
            XCTAssertEqual(($0 as? RegistryError)?.message, "99999999999999999999 is out of range")
        }
        XCTAssertThrowsError(try mapping.required("hex").int())
        XCTAssertEqual(try mapping.required("hex").string(), "0x10")
        XCTAssertThrowsError(try mapping.required("float").int())
        XCTAssertThrowsError(try mapping.required("quoted").int())
        XCTAssertEqual(try mapping.required("quoted").string(), "7")
        XCTAssertNil(mapping["null1"])
        XCTAssertNil(mapping["null2"])
        XCTAssertTrue(mapping.contains("null2"))
        XCTAssertFalse(mapping.contains("absent"))
        XCTAssertThrowsError(try mapping.required("null2")) {
            XCTAssertEqual(($0 as? RegistryError)?.message, "'null2' must have a value")
            XCTAssertEqual(($0 as? RegistryError)?.line, 12)
        }
        XCTAssertEqual(try mapping.required("sexagesimal").string(), "1:30")
        XCTAssertEqual(try mapping.required("sexagesimal").scalarText(), "1:30")
        XCTAssertEqual(try mapping.required("n").scalarText(), "080")
        XCTAssertEqual(
            try mapping.optional("absent", default: 3) { (field) throws(RegistryError) in try field.int() }, 3)

        // Paths compose for nested fields, as the config loader needs.
        let limits = try mapping.required("limits").mapping(allowing: ["udpPayload", "tcpIdle"])
        let payload = try limits.required("udpPayload")
        XCTAssertEqual(payload.path, "limits.udpPayload")
        XCTAssertEqual(payload.line, 14)
        XCTAssertEqual(try payload.int(in: 512...4096), 1232)
        XCTAssertThrowsError(try payload.int(in: 1...512)) {
            XCTAssertEqual(
                "\($0)",
                "scdns.yaml:14:23: limits.udpPayload: 1232 is out of range 1...512"
            )
        }
        let list = try mapping.required("list").sequence()
        XCTAssertEqual(list.map(\.path), ["list[0]", "list[1]"])
        XCTAssertEqual(
            try mapping.required("list").sequence { (field) throws(RegistryError) in try field.string() }, ["a", "b"])
        XCTAssertThrowsError(try mapping.required("list").string()) {
            XCTAssertEqual(($0 as? RegistryError)?.message, "expected a string, got a list")
        }
        XCTAssertThrowsError(try root.mapping(allowing: ["yes"])) {
            XCTAssertEqual(($0 as? RegistryError)?.field, "on")
            XCTAssertEqual(($0 as? RegistryError)?.line, 2)
        }
    }

    func testNetworkAndAddressAccessors() throws {
        let root = try XCTUnwrap(
            YAMLField.parse("allow: [127.0.0.0/8, \"::1/128\", 10.0.0.0/33]\nvip: 1.2.3.4\n", file: "scdns.yaml")
        )
        let mapping = try root.mapping(allowing: ["allow", "vip"])
        let allow = try mapping.required("allow").sequence()
        XCTAssertEqual(try allow[0].ipNetwork().description, "127.0.0.0/8")
        XCTAssertEqual(try allow[1].ipNetwork().description, "::1/128")
        XCTAssertThrowsError(try allow[2].ipNetwork()) {
            XCTAssertEqual(
                "\($0)", "scdns.yaml:1:33: allow[2]: '10.0.0.0/33' is not an IPv4 or IPv6 network (ADDRESS/PREFIX)")
        }
        XCTAssertEqual(try mapping.required("vip").ipAddress(), IPAddress("1.2.3.4"))
        XCTAssertNil(try YAMLField.parse("# nothing here\n", file: "scdns.yaml"))
    }

    func testUnknownKeySuggestions() {
        let allowed = ["services", "addresses", "weight", "healthy"]
        XCTAssertEqual(
            YAMLField.unknownKeyMessage("adresses", allowed: allowed),
            "unknown field 'adresses'; did you mean 'addresses'?"
        )
        XCTAssertEqual(
            YAMLField.unknownKeyMessage("Weight", allowed: allowed), "unknown field 'Weight'; did you mean 'weight'?")
        XCTAssertEqual(
            YAMLField.unknownKeyMessage("colour", allowed: allowed),
            "unknown field 'colour'; expected one of: services, addresses, weight, healthy"
        )
    }
}

/// `plainScalarKind` replaces the resolver's regular expressions on the decoding path; both must type every
/// plain scalar alike.
final class PlainScalarKindTests: XCTestCase {
    func testAgreesWithTheResolversPatterns() throws {
        let listed = [
            "", "~", "null", "Null", "NULL", "nULL", "true", "True", "TRUE", "tRUE", "false", "yes", "no", "on",
            "0", "7", "-7", "+7", "007", "1_000", "0x1F", "0o17", "1:2", "1:2:3:4:5:6:7:8", "10.0.0.1", "1.", ".5",
            "1.5", "-1.5", "+.5", ".", "-x", "+", "1e5", "1E-5", "1.5e+10", ".5e3", "1e", "e5", "1.5.1", ".inf",
            "-.Inf",
            "+.INF", ".nan", ".NaN", "-.nan", "inf", "nan", "10s", "500ms", "fd00::1", "a b", "12ab", " 1", "١٢",
            "tru", "nul", "fals", "web", "frontend", "Nope", "_x", "é", "µ1",
        ]
        // Every first letter, alone and before a digit: most letters are decided by the first octet alone.
        let letters = (UInt8(ascii: "a")...UInt8(ascii: "z")).map { String(UnicodeScalar($0)) }
        let firstLetters = letters + letters.map { $0.uppercased() }
        let samples = listed + firstLetters + firstLetters.map { $0 + "1" }
        for sample in samples {
            let document = try XCTUnwrap(
                try Yams.compose(yaml: "value: " + (sample.isEmpty ? "" : sample), YAMLField.resolver))
            guard case .mapping(let mapping) = document, let node = mapping.first?.value,
                case .scalar(let scalar) = node
            else {
                XCTFail("'\(sample)' did not parse as a scalar")
                continue
            }
            let byResolver = node.tag.description
            let expected: YAMLField.ScalarKind =
                switch byResolver {
                case Tag.Name.str.rawValue: .string
                case Tag.Name.int.rawValue: .integer
                case Tag.Name.float.rawValue: .float
                case Tag.Name.bool.rawValue: .boolean
                case Tag.Name.null.rawValue: .null
                default: .other(byResolver)
                }
            XCTAssertEqual(YAMLField.plainScalarKind(scalar.string), expected, "'\(sample)'")
        }
    }

    /// `isNull` answers without typing the scalar; it must say what `scalarKind == .null` says, for plain,
    /// quoted and tagged scalars, in block and flow style, and for a list.
    func testIsNullAgreesWithTheScalarKind() throws {
        let values = [
            "", "~", "null", "Null", "NULL", "nULL", "nul", "nulls", "~~", "0", "10.0.0.1", "web", "'null'", "\"~\"",
            "''", "!!null ''", "!!str null", "!!str ''", "!!int 7", "! null", "[]", "{}",
        ]
        for value in values {
            // As a mapping's value, and (when it is one) as a list's element.
            for text in ["value: \(value)"] + (value.isEmpty ? [] : ["[\(value)]"]) {
                let root = try XCTUnwrap(try YAMLField.parse(text, file: "test"), text)
                let field =
                    text.hasPrefix("[")
                    ? try XCTUnwrap(try root.sequence().first, text)
                    : YAMLField(node: root.node.child(1), file: "test")
                XCTAssertEqual(
                    field.isNull, field.scalarKind == .null, "\(text): \(String(describing: field.scalarKind))")
            }
        }
        // One-line JSON, which JSONNodeReader reads without libyaml (etcd's values), and an alias.
        for (text, isNull) in [
            (#"{"value": null}"#, true), (#"{"value": "null"}"#, false), (#"{"value": 0}"#, false),
            (#"{"value": []}"#, false), ("a: &x null\nvalue: *x", true),
        ] {
            let root = try XCTUnwrap(try YAMLField.parse(text, file: "test"), text)
            let mapping = try root.mapping(allowing: ["a", "value"])
            let field = YAMLField(node: root.node.child(2 * (mapping.keys.firstIndex(of: "value") ?? 0) + 1), file: "")
            XCTAssertEqual(field.isNull, isNull, text)
            XCTAssertEqual(field.isNull, field.scalarKind == .null, text)
        }
    }

    /// Paths as errors spell them: under a root given a path, from a list's first index, and at a key that is not
    /// a plain string.
    func testPathsSpelledFromTheirLinks() throws {
        let root = try XCTUnwrap(try YAMLField.parse("- ports: [{port: 80}]\n- ports: []", file: "f"))
        let services = YAMLField(node: root.node, path: "services", file: "f")
        let first = try XCTUnwrap(try services.sequence(firstIndex: 5).first)
        XCTAssertEqual(first.path, "services[5]")
        let port = try XCTUnwrap(try first.mapping(allowing: ["ports"])["ports"]?.sequence().first)
        XCTAssertEqual(port.path, "services[5].ports[0]")
        XCTAssertEqual(try port.mapping(allowing: ["port"])["port"]?.path, "services[5].ports[0].port")
        let bare = try XCTUnwrap(try YAMLField.parse("a: {b: 1}", file: "f"))
        XCTAssertEqual(try bare.mapping(allowing: ["a"])["a"]?.mapping(allowing: ["b"])["b"]?.path, "a.b")
        for (text, path) in [("[1]: x", ""), ("a: {[1]: x}", "a")] {
            let field = try XCTUnwrap(try YAMLField.parse(text, file: "f"))
            XCTAssertThrowsError(
                try (text.hasPrefix("a") ? field.mapping(allowing: ["a"])["a"]! : field).mapping(allowing: ["x"])
            ) { error in
                XCTAssertEqual((error as? RegistryError)?.field, path, text)
            }
        }
    }
}
