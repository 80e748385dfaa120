import DNSServer
import Foundation
import FuzzTargets
import XCTest

/// `make test` runs every file of the fuzz corpus (Fuzz/corpus/TARGET/, the seeds and what `make fuzz` kept) and
/// every crash found (Fuzz/regressions/TARGET/) through the same checks libFuzzer runs, once each: what a fuzzer
/// once found stays a test.
final class FuzzCorpusTests: XCTestCase {
    private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The inputs of a target, by file name; at least one seed, or the corpus is missing.
    private func inputs(_ target: String, file: StaticString = #filePath, line: UInt = #line) -> [(String, [UInt8])] {
        var found: [(String, [UInt8])] = []
        for folder in ["Fuzz/corpus/\(target)", "Fuzz/regressions/\(target)"] {
            let path = Self.root + "/" + folder
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() {
                if let data = FileManager.default.contents(atPath: path + "/" + name) {
                    found.append(("\(folder)/\(name)", Array(data)))
                }
            }
        }
        XCTAssertFalse(found.isEmpty, "no corpus for \(target) under Fuzz/", file: file, line: line)
        return found
    }

    private func replay(_ target: String, _ check: ([UInt8]) -> [String]) {
        for (name, data) in inputs(target) {
            XCTAssertEqual(check(data), [], name)
        }
    }

    func testTheWireCorpus() { replay("wire", WireFuzz.check) }

    func testThePipelineCorpus() { replay("pipeline", PipelineFuzz.check) }

    func testTheRegistryCorpus() { replay("registry", RegistryFuzz.check) }

    /// The config loader, as Fuzz/config/main.swift drives it.
    func testTheConfigCorpus() {
        replay("config") { data in
            do {
                _ = try ServerConfig.load(file: "fuzz.yaml", text: String(decoding: data, as: UTF8.self))
                return []
            } catch {
                return "\(error)".hasPrefix("fuzz.yaml") ? [] : ["a rejection without the file: \(error)"]
            }
        }
    }

    /// The checks are not vacuous: each finds what it is there to find.
    func testTheChecksCatchWhatTheyAreFor() throws {
        // A registry rejection is named; a wire message that parses round-trips.
        XCTAssertEqual(RegistryFuzz.check(Array("services: [".utf8)), [])
        let seed = try XCTUnwrap(inputs("pipeline").first { $0.0.hasSuffix("/e00") }?.1)
        XCTAssertEqual(WireFuzz.check(seed), [])
        XCTAssertEqual(PipelineFuzz.check(seed), [])
    }
}
