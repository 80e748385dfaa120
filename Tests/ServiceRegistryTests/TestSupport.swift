import Foundation
import Logging
import Synchronization
import XCTest

@testable import ServiceRegistry

/// One document that must be rejected, and exactly where.
struct RejectionCase {
    var name: String
    var yaml: String
    var field: String
    var line: Int?
    var column: Int? = nil
    var message: String
}

/// Decodes `yaml` expecting a `RegistryError` at `field` and `line` whose message contains `message`.
func assertRejects(_ testCase: RejectionCase, file: StaticString = #filePath, line: UInt = #line) {
    do {
        let services = try RegistryDecoder.decode(testCase.yaml, file: "registry.yaml")
        XCTFail("\(testCase.name): accepted, decoded \(services.count) services", file: file, line: line)
    } catch {
        XCTAssertEqual(error.file, "registry.yaml", testCase.name, file: file, line: line)
        XCTAssertEqual(error.field, testCase.field, "\(testCase.name): \(error)", file: file, line: line)
        XCTAssertEqual(error.line, testCase.line, "\(testCase.name): \(error)", file: file, line: line)
        if let column = testCase.column {
            XCTAssertEqual(error.column, column, "\(testCase.name): \(error)", file: file, line: line)
        }
        XCTAssertTrue(
            error.message.contains(testCase.message),
            "\(testCase.name): message '\(error.message)' lacks '\(testCase.message)'",
            file: file,
            line: line
        )
    }
}

/// Decodes a document that must be valid, failing the test with the error's full text otherwise.
func decodeValid(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> [Service] {
    do {
        return try RegistryDecoder.decode(yaml, file: "test.yaml")
    } catch {
        XCTFail("rejected: \(error)", file: file, line: line)
        return []
    }
}

/// Waits for `condition` without fixed sleeps standing in for it: checks every 10 ms up to `timeout`.
func eventually(
    timeout: Duration = .seconds(10),
    _ condition: () -> Bool
) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

/// A log handler that keeps every message, so tests can wait for "rejected" instead of sleeping.
struct CapturingLogHandler: LogHandler {
    final class Store: Sendable {
        let messages = Mutex<[String]>([])
        var all: [String] { messages.withLock { $0 } }
        func count(containing text: String) -> Int { all.filter { $0.contains(text) }.count }
    }

    let store: Store
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        store.messages.withLock { $0.append("\(event.level): \(event.message)") }
    }
}

/// A temporary directory removed at the end of the test.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("scdns-registry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }

    func path(_ name: String) -> String {
        url.appendingPathComponent(name).path
    }

    /// Writes as editors do: a new file renamed over the old one.
    func replace(_ name: String, with text: String) throws {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
    }
}

/// The repository root, found from this file's path, so tests read the real example registry.
let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()
    .deletingLastPathComponent()
    .deletingLastPathComponent()
