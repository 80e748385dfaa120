import Foundation
import XCTest

@testable import DNSServer

/// docs/configuration.md names exactly the keys the loader reads (`ConfigKeys`): a key added to the code without
/// its reference entry fails here, and so does a reference entry for a key the code does not read.
final class ConfigReferenceTests: XCTestCase {
    private static let reference =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path + "/docs/configuration.md"

    /// The first cell of every table row that is a backticked key: `| `cache.capacity` | ...`.
    private static func documentedKeys() throws -> [String] {
        let text = try String(contentsOfFile: reference, encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            line.firstMatch(of: /^\|\s*`([^`]+)`\s*\|/).map { String($0.1) }
        }
    }

    func testTheReferenceNamesEveryKeyTheCodeReads() throws {
        let documented = try Self.documentedKeys()
        let read = ConfigKeys.paths
        XCTAssertEqual(
            Set(read).subtracting(documented).sorted(), [], "keys the code reads that \(Self.reference) lacks")
        XCTAssertEqual(
            Set(documented).subtracting(read).sorted(), [], "keys \(Self.reference) documents that the code never reads"
        )
        let repeated = Dictionary(grouping: documented, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
        XCTAssertEqual(repeated, [], "keys documented twice")
    }

    /// The example scdns.yaml uses only keys of the reference (ServerConfigTests loads it).
    func testTheExampleConfigUsesDocumentedKeys() throws {
        let documented = Set(try Self.documentedKeys())
        let example = try String(
            contentsOfFile: URL(fileURLWithPath: Self.reference).deletingLastPathComponent()
                .deletingLastPathComponent().path + "/scdns.yaml", encoding: .utf8)
        let topLevel = example.split(separator: "\n").compactMap { line in
            line.firstMatch(of: /^([A-Za-z]+):/).map { String($0.1) }
        }
        XCTAssertFalse(topLevel.isEmpty)
        for key in topLevel { XCTAssertTrue(documented.contains(key), "scdns.yaml's '\(key)' is not in the reference") }
    }
}
