import XCTest

@testable import ServiceRegistry

/// A registry file cut between its `services:` items and parsed piece by piece reads as the whole file reads:
/// the same services, and for a file with a mistake the same error (file, line, field and words), or it is not
/// cut at all and is read whole.
final class ServiceListChunksTests: XCTestCase {
    /// Services in the shapes a registry takes: flow and block lists, a sequence at its key's indentation, an
    /// item whose fields start on the line after its dash, comments and blank lines between and inside items.
    func registry(_ count: Int) -> [String] {
        var lines = ["# written by hand and by tools alike", "services: # every export", ""]
        for index in 0..<count {
            switch index % 3 {
            case 0:
                lines += [
                    "  - name: web\(index)", "    namespace: ns\(index % 7)", "    type: ClusterSetIP",
                    "    ports:", "      - { name: http, port: 80, protocol: TCP }", "    clusters:",
                    "      - cluster: c1", "        region: r1", "        zone: z1",
                    "        addresses: [10.0.\(index % 250).1, 10.1.\(index % 250).1]", "        weight: 50",
                    "      - cluster: c2", "        addresses:", "        - 10.2.\(index % 250).\(index % 199 + 1)",
                ]
            case 1:
                lines += [
                    "  -", "    name: pods\(index)", "    # a headless one", "    namespace: ns", "    type: Headless",
                    "    clusters:",
                    "      - cluster: c\(index % 4)",
                    "        endpoints:",
                    "          - { hostname: p0, addresses: [10.3.\(index % 250).1], ready: true }",
                    "          - { hostname: p1, addresses: [fd00::\(index % 999 + 1)] }",
                ]
            default:
                lines += [
                    "# between items", "", "  - name: vip\(index)", "    namespace: ns\(index % 5)",
                    "    vip: 240.0.\(index % 250).\(index % 200 + 1)",
                    "    clusters: [{ cluster: c3, addresses: [10.4.\(index % 250).1] }]",
                ]
            }
        }
        return lines
    }

    /// What one thread reads of `text`: the services, or the error's words.
    func whole(_ text: String) -> Result<[Service], RegistryError> {
        Result { () throws(RegistryError) in try RegistryDecoder.decode(text, file: "r.yaml", threads: 1) }
    }

    /// What the pieces read: nil when the file is not cut.
    func pieces(_ text: String, threads: Int) -> Result<[Service], RegistryError>? {
        do {
            guard
                let entries = try RegistryDecoder.decodeInPieces(
                    text, file: "r.yaml", threads: threads, minimumItems: 1)
            else { return nil }
            return Result { () throws(RegistryError) in try ServiceMerger.merge(entries) }
        } catch {
            return .failure(error)
        }
    }

    func testPiecesReadWhatTheWholeFileReads() throws {
        let text = registry(200).joined(separator: "\n") + "\n"
        let one = try whole(text).get()
        XCTAssertEqual(one.count, 200)
        for threads in [2, 3, 7] {
            let cut = try XCTUnwrap(ServiceListChunks.split(text, into: threads * 4, minimumItems: 1))
            XCTAssertTrue((threads * 3...threads * 4).contains(cut.count), "\(threads): \(cut.count) pieces")
            XCTAssertEqual(cut.map(\.itemCount).reduce(0, +), 200)
            XCTAssertEqual(try XCTUnwrap(pieces(text, threads: threads)).get(), one, "\(threads) threads")
        }
        // And the decoder takes the pieces itself past its minimum.
        XCTAssertNotNil(ServiceListChunks.split(registry(2_100).joined(separator: "\n"), into: 8, minimumItems: 2_048))
    }

    /// One line changed at a time, 300 times: a wrong address, port, type, label or key, a key twice, a field
    /// gone, an item repeated, an indentation broken. Each file reads as a whole the same way, error for error.
    func testEveryMistakeIsReportedAsTheWholeFileReportsIt() throws {
        let lines = registry(60)
        let changes: [(String) -> [String]?] = [
            { $0.contains("10.") ? [$0.replacingOccurrences(of: "10.", with: "10.0.0.300,")] : nil },
            { $0.contains("port: 80") ? [$0.replacingOccurrences(of: "port: 80", with: "port: 99999")] : nil },
            { $0.contains("type: ClusterSetIP") ? ["    type: Clusterset"] : nil },
            { $0.contains("name: web") ? [$0.replacingOccurrences(of: "name: web", with: "name: Web_")] : nil },
            { $0.hasPrefix("    namespace:") ? [$0, $0] : nil },
            { $0.hasPrefix("    namespace:") ? [$0, "    bogus: 1"] : nil },
            { $0.hasPrefix("    namespace:") ? [] : nil },
            { $0.hasPrefix("    namespace:") ? ["   " + $0.dropFirst(4)] : nil },
            { $0.contains("weight: 50") ? ["        weight: -1"] : nil },
            {
                $0.hasPrefix("  - name: vip") ? [$0, "    namespace: ns0", "    clusters: [{ cluster: c3 }]", $0] : nil
            },
        ]
        var cut = 0
        var failures = 0
        for round in 0..<300 {
            var mutated = lines
            let change = changes[round % changes.count]
            // Lines spread over the file by a stride prime to its length, each change starting somewhere else.
            var line = round * 7_919 % lines.count
            var replacement: [String]? = nil
            for _ in 0..<lines.count {
                replacement = change(lines[line])
                if replacement != nil { break }
                line = (line + 1) % lines.count
            }
            guard let replacement else { continue }
            mutated.replaceSubrange(line...line, with: replacement)
            let text = mutated.joined(separator: "\n") + "\n"
            let expected = whole(text)
            if case .failure = expected { failures += 1 }
            guard let got = pieces(text, threads: 3) else { continue }
            cut += 1
            switch (expected, got) {
            case (.success(let a), .success(let b)): XCTAssertEqual(a, b, "round \(round)")
            case (.failure(let a), .failure(let b)): XCTAssertEqual("\(a)", "\(b)", "round \(round)")
            default: XCTFail("round \(round): whole \(expected), pieces \(got)")
            }
        }
        XCTAssertGreaterThan(failures, 200, "most changes are mistakes")
        XCTAssertGreaterThan(cut, 200, "most files are still cut")
    }

    /// Files whose lines at the items' indentation might not start items, or with more than the list, are not cut.
    func testFilesThatAreNotOnlyIndentationAreReadWhole() {
        let item = "  - name: a\n    namespace: b\n    clusters: [{ cluster: c, addresses: [10.0.0.1] }]\n"
        let uncut = [
            "services: []\n",
            "services:\n" + item + "other: 1\n",
            "version: 1\nservices:\n" + item,
            "services:\n" + item + "  - name: 'quoted'\n",
            "services:\n" + item + "  - name: \"quoted\"\n",
            "services:\n" + item + "  - &anchor\n    name: x\n",
            "services:\n" + item + "  - *anchor\n",
            "services:\n" + item + "  - name: !tag x\n",
            "services:\n" + item + "  - name: |\n      x\n",
            "services:\n" + item + "  - name: >\n      x\n",
            "services:\n" + item + "  - { name: x,\n  - y }\n",
            "services:\n" + item + "\t- name: x\n",
            "services:\r\n" + item,
            "\u{FEFF}services:\n" + item,
            "services:\n" + item + "---\n",
            "%YAML 1.1\n---\nservices:\n" + item,
            "services:\n" + item + "  - ? complex\n    : key\n",
            "services:\n" + item + " - name: less indented\n",
            "services:\n  name: not a list\n",
            "# nothing\n",
            "# generated\u{2028}version: 2\nservices:\n" + item,
            "services:\n" + item + "# x\u{2029}...\n" + item,
            "services:\n" + item + "  - name: a\u{85}b\n",
        ]
        for text in uncut {
            XCTAssertNil(ServiceListChunks.split(text, into: 4, minimumItems: 1), text.debugDescription)
        }
        XCTAssertEqual(ServiceListChunks.split("services:\n" + item + item, into: 4, minimumItems: 1)?.count, 2)
        XCTAssertNil(ServiceListChunks.split("services:\n" + item + item, into: 4, minimumItems: 3), "too few items")
    }
}
