import DNSWire
import Foundation
import XCTest

/// A private temporary directory per test, so tests can run in parallel and never read each other's files.
struct ZoneFixture {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("zonefile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    var path: String { directory.path }

    /// Writes `text` as `name` in the directory and returns its path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = directory.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// The repository's example zones, found from this file's path so the tests run from any working directory.
    static func repositoryZones(file: String = #filePath) -> String {
        URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("../../zones").standardized.path
    }

    /// A minimal valid apex for `origin`, for tests that are about the records after it.
    static func apex(_ origin: String = "example.test.") -> String {
        """
        $ORIGIN \(origin)
        $TTL 300
        @ IN SOA ns1 hostmaster 1 3600 600 86400 30
        @ IN NS ns1

        """
    }
}

/// Shorthands that keep the expectation tables readable.
func dnsName(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> DNSName {
    do {
        return try DNSName(text)
    } catch {
        XCTFail("bad name \(text): \(error)", file: file, line: line)
        return .root
    }
}

func rr(_ owner: String, _ ttl: UInt32, _ data: RData) -> ResourceRecord {
    ResourceRecord(name: dnsName(owner), ttl: ttl, data: data)
}

func ipv4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> IPv4Address {
    IPv4Address(bytes: [a, b, c, d])!
}

func txt(_ strings: String...) -> RData {
    .txt(strings.map { Array($0.utf8) })
}

/// Collapses runs of blanks: ldns separates fields with tabs or spaces depending on the type.
func normalized(_ text: String) -> String {
    text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).joined(separator: " ")
}
