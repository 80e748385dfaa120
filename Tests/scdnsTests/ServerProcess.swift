import Foundation
import XCTest

/// A real `scdns serve` on a loopback port of its own (`LoopbackPort`), as users run it. Its log is captured so tests can
/// await what it says (the port it bound, a rejected reload) instead of sleeping.
final class ServerProcess {
    let process = Process()
    private let log = LockedText()
    private(set) var port = 0

    /// The repository root, found from this file's path.
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// The scdns binary built beside the test bundle (`swift build --build-tests` builds both), or
    /// `SCDNS_BINARY` when set.
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["SCDNS_BINARY"] { return path }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundle.appendingPathComponent("scdns").path, repositoryRoot + "/.build/debug/scdns"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return repositoryRoot + "/.build/debug/scdns"
    }

    /// Starts `scdns serve` and, unless `awaitListening` is false, waits until it listens (see `awaitListening`).
    /// `wrapper` runs it under another command (`taskset -c 0`), found on PATH.
    init(
        arguments: [String], wrapper: [String] = [], awaitListening: Bool = true, file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        let binary = Self.binary
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            XCTFail(
                "scdns binary not found at \(binary): run `swift build --build-tests` first", file: file, line: line)
            throw TestFailure("no scdns binary")
        }
        process.executableURL = URL(fileURLWithPath: wrapper.isEmpty ? binary : "/usr/bin/env")
        // DNS on a port outside the kernel's ephemeral range: one from it can be handed to a client's UDP socket
        // as well (`LoopbackPort`). The admin endpoint on a kernel-chosen port (TCP, where a client's port never
        // takes a listener's connections; `adminPort`), and no lame duck, so stopping a server costs no 5 s wait;
        // unless the test sets either itself.
        let listen = "127.0.0.1:\(try LoopbackPort.reserve())"
        let admin = arguments.contains("--admin") ? [] : ["--admin", "127.0.0.1:0"]
        let lameDuck = arguments.contains("--lameduck") ? [] : ["--lameduck", "0s"]
        process.arguments =
            (wrapper.isEmpty ? [] : wrapper + [binary]) + ["serve", "--listen", listen] + admin + lameDuck + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: Self.repositoryRoot)
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let log = self.log
        errors.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { log.append(String(decoding: data, as: UTF8.self)) }
        }
        try process.run()
        if awaitListening { try self.awaitListening(file: file, line: line) }
    }

    /// The admin endpoint's port, from the line it logs once it listens (it does before the registry loads).
    func adminPort(file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let listening = try awaitLog(
            matching: #"admin=127\.0\.0\.1:(\d+) .*admin endpoint listening"#, file: file, line: line)
        return Int(listening[1]) ?? 0
    }

    /// Waits for the log line that says the server listens, and takes the port from it.
    func awaitListening(timeout: TimeInterval = 20, file: StaticString = #filePath, line: UInt = #line) throws {
        let listening = try awaitLog(
            matching: #"address=127\.0\.0\.1:(\d+) .*listening"#, timeout: timeout, file: file, line: line)
        port = Int(listening[1]) ?? 0
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    var output: String { log.text }

    /// Waits until the log has a line matching `pattern` (an NSRegularExpression); returns its capture groups.
    @discardableResult
    func awaitLog(
        matching pattern: String, after offset: Int = 0, timeout: TimeInterval = 20, file: StaticString = #filePath,
        line: UInt = #line
    ) throws -> [String] {
        let expression = try NSRegularExpression(pattern: pattern)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let text = String(log.text.dropFirst(offset))
            if let match = expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) {
                return (0..<match.numberOfRanges).map { index in
                    Range(match.range(at: index), in: text).map { String(text[$0]) } ?? ""
                }
            }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        XCTFail("scdns never logged /\(pattern)/; its log:\n\(log.text)", file: file, line: line)
        throw TestFailure("log line not seen")
    }

    /// Sends a signal and, for SIGTERM, waits for the exit; returns the exit status.
    func signal(_ number: Int32) {
        kill(process.processIdentifier, number)
    }

    func stop(timeout: TimeInterval = 10) -> Int32? {
        process.terminate()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return process.isRunning ? nil : process.terminationStatus
    }
}

/// Text appended from the pipe's reader thread and read from the test's.
final class LockedText: @unchecked Sendable {
    private let lock = NSLock()
    private var storage = ""

    func append(_ text: String) {
        lock.lock()
        storage += text
        lock.unlock()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return storage
    }

    /// Waits until the text holds `needle` (a process's log, say); fails the test if it never does.
    func await(
        _ needle: String, timeout: Duration = .seconds(15), file: StaticString = #filePath, line: UInt = #line
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while !text.contains(needle) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTAssertTrue(text.contains(needle), "waited for '\(needle)' in:\n\(text)", file: file, line: line)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
