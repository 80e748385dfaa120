import Foundation
import XCTest

@testable import ServiceRegistry

/// `YAMLComposer` replaced `Yams.compose` for every registry file and config: for any text, both must give the
/// same document (structure, strings, tags, lines and columns) or the same error (message, line, column, field).
/// Yams stays here as the reference (`YAMLField.parseWithYams`).
final class YAMLComposerTests: XCTestCase {
    /// Both outcomes of one text, compared.
    func assertComposesAsYams(
        _ text: String, _ label: String = "", file: StaticString = #filePath, line: UInt = #line
    )
        -> Bool?
    {
        let ours = Result { () throws(RegistryError) in try YAMLComposer.compose(text, file: "f.yaml") }
        let yams = Result { () throws(RegistryError) in try YAMLField.parseWithYams(text, file: "f.yaml")?.node }
        switch (ours, yams) {
        case (.success(let left), .success(let right)):
            switch (left, right) {
            case (nil, nil): break
            case (let left?, let right?): Self.assertSame(left, right, "\(label) \(text.debugDescription)")
            default:
                XCTFail(
                    "\(label) \(text.debugDescription): \(String(describing: left)) against \(String(describing: right))",
                    file: file, line: line)
            }
            return true
        case (.failure(let left), .failure(let right)):
            XCTAssertEqual(left, right, "\(label) \(text.debugDescription)", file: file, line: line)
            return false
        default:
            XCTFail("\(label) \(text.debugDescription): ours \(ours), Yams \(yams)", file: file, line: line)
            return nil
        }
    }

    /// Node for node. A key's tags (a collection key's, all through it) are compared as what they resolve to:
    /// Yams rewrites an untagged key's tag in place (`str`, `seq`, `map`) when its duplicate check hashes it.
    static func assertSame(_ left: YAMLNode, _ right: YAMLNode, _ text: String, isKey: Bool = false) {
        XCTAssertEqual(left.kind, right.kind, text)
        XCTAssertEqual(left.text, right.text, text)
        XCTAssertEqual(left.line, right.line, "\(text): line of \(left.text)")
        XCTAssertEqual(left.column, right.column, "\(text): column of \(left.text)")
        func resolved(_ tag: String) -> String {
            guard isKey, tag.isEmpty || tag == "!" else { return tag }
            switch left.kind {
            case .scalar: return YAMLDocument.stringTag
            case .sequence: return "tag:yaml.org,2002:seq"
            case .mapping: return "tag:yaml.org,2002:map"
            }
        }
        XCTAssertEqual(resolved(left.tag), resolved(right.tag), "\(text): tag of \(left.text)")
        XCTAssertEqual(left.childCount, right.childCount, text)
        guard left.kind == right.kind, left.childCount == right.childCount else { return }
        for index in 0..<left.childCount {
            assertSame(
                left.child(index), right.child(index), text,
                isKey: isKey || (left.kind == .mapping && index.isMultiple(of: 2)))
        }
    }

    func testTheRepositorysYAMLComposesAsYamsComposesIt() throws {
        var files = ["registry.yaml", "scdns.yaml"].map { repositoryRoot.appendingPathComponent($0) }
        let manifests = repositoryRoot.appendingPathComponent("deploy/kubernetes")
        for name in try FileManager.default.contentsOfDirectory(atPath: manifests.path) where name.hasSuffix(".yaml") {
            files.append(manifests.appendingPathComponent(name))
        }
        XCTAssertGreaterThan(files.count, 3)
        for url in files {
            _ = assertComposesAsYams(try String(contentsOf: url, encoding: .utf8), url.lastPathComponent)
        }
    }

    func testEdgeCasesComposeAsYamsComposesThem() {
        let texts = [
            "", "# only a comment\n", "---\n", "--- \n...\n", "~", "a", "\"a\"", "'a'", "[]", "{}", "- a\n- b\n",
            "services: []\n---\nservices: []\n", "a: 1\n---\n", "services: *nothing\n",
            "a: &x [1, 2]\nb: *x\nc: *x\n", "a: &x\n  b: *x\n", "a: &x 1\nb: &x 2\nc: *x\n",
            "a: 1\na: 2\n", "b: 1\na: 1\nb: 2\na: 2\n", "1: x\n\"1\": y\n", "a: 1\n!!str a: 2\n",
            "!!int a: 1\na: 2\n", "a: 1\n! a: 2\n", "{a: 1, a: 2}", "[{a: 1, b: 2, a: 3}]",
            "a: !!int \"5\"\nb: ! x\nc: !custom 1\nd: !!map {}\ne: !!seq []\nf: !!str 80\n",
            "? [a]\n: 1\n", "? a\n: 1\n", "{[1]: 2}", ": x\n", "a:\n", "a: |\n  line\n  two\n", "a: >-\n  folded\n",
            "services:\n  - name: backend\n    namespace: app\n   clusters: []\n",
            "services:\n  - name: a\n    ports: [{ port: 80 }\n", "services:\n\t- name: a\n",
            "services:\n  - name: \"a\n    namespace: app\n", "a: \u{1}\n", "\u{FEFF}a: 1\n", "a: é\nb: \"\\u00e9\"\n",
            "a: 'it''s'\n", "a: \"tab\\tnew\\nline\"\n", "%YAML 1.2\n---\na: 1\n", "%TAG ! tag:x,2000:\n---\na: !b 1\n",
            "a: [1, 2", "a: {b: 1", "a: b: c\n", "- a\nb: 1\n", "a: 1\n  b: 2\n", "&a a: 1\n", "*a\n",
            String(repeating: "[", count: 200) + String(repeating: "]", count: 200),
            String(repeating: "- ", count: 50) + "x\n",
        ]
        var failures = 0
        for text in texts where assertComposesAsYams(text) == false { failures += 1 }
        // Errors of every kind were compared, not just documents.
        XCTAssertGreaterThan(failures, 15)
    }

    /// A registry in block style with anchors, flow collections, quoting and comments, mutated at random:
    /// deletions, insertions of YAML's indicators, lines repeated or swapped. Most mutants are errors.
    func testMutatedDocumentsComposeAsYamsComposesThem() {
        let base = """
            # services
            services:
              - name: web   # the front
                namespace: shop
                type: ClusterSetIP
                vip: 10.9.0.1
                ports: &ports [{ name: http, port: 80 }, { name: dns, port: 53, protocol: UDP }]
                clusters:
                  - cluster: cluster-a
                    region: "eu-west-1"
                    zone: 'eu-west-1a'
                    addresses: [10.0.0.1, "fd00::1"]
                    weight: 100
                  - { cluster: cluster-b, addresses: [10.0.1.1], healthy: false }
              - name: db
                namespace: shop
                type: Headless
                ports: *ports
                clusters:
                  - cluster: cluster-a
                    endpoints:
                      - hostname: db-0
                        addresses:
                          - 10.1.0.1
                        ready: true

            """
        var random = JSONNodeReaderTests.Generator(state: 20_261_207)
        let indicators = [
            ":", "-", " ", "\n", "\"", "'", "[", "]", "{", "}", "&a ", "*a", "#", "\t", "!", "? ", "|", ">", ",",
        ]
        var outcomes = [true: 0, false: 0]
        for index in 0..<1_500 {
            var lines = base.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let row = Int.random(in: 0..<lines.count, using: &random)
                var line = Array(lines[row])
                let column = Int.random(in: 0...line.count, using: &random)
                switch Int.random(in: 0..<5, using: &random) {
                case 0 where column < line.count: line.remove(at: column)
                case 1: line.insert(contentsOf: indicators.randomElement(using: &random)!, at: column)
                case 2: lines.insert(lines[row], at: row)
                case 3: lines.swapAt(row, Int.random(in: 0..<lines.count, using: &random))
                default: line.insert(contentsOf: indicators.randomElement(using: &random)!, at: column)
                }
                lines[row] = String(line)
            }
            if let outcome = assertComposesAsYams(lines.joined(separator: "\n"), "\(index)") {
                outcomes[outcome, default: 0] += 1
            }
        }
        XCTAssertGreaterThan(outcomes[true]!, 150)
        XCTAssertGreaterThan(outcomes[false]!, 150)
    }
}
