import Foundation
import XCTest

/// Runs the real DNS clients users run. A missing tool fails the test loudly (`make test` installs them).
enum Tools {
    struct Result {
        var status: Int32
        var output: String
    }

    /// A tool by name from the usual directories, or by absolute path.
    static func path(of tool: String) -> String? {
        if tool.hasPrefix("/") { return FileManager.default.isExecutableFile(atPath: tool) ? tool : nil }
        for directory in ["/usr/bin", "/usr/local/bin", "/bin", "/usr/sbin"] {
            let candidate = directory + "/" + tool
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    static func run(
        _ tool: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line
    ) throws -> Result {
        guard let executable = path(of: tool) else {
            XCTFail(
                "\(tool) is not installed: run `make test-deps` (dig: bind9-dnsutils, kdig: knot-dnsutils)",
                file: file, line: line)
            throw TestFailure("\(tool) missing")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    /// The scdns binary under test with `arguments`, from the repository root; its output and errors together.
    static func scdns(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServerProcess.binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: ServerProcess.repositoryRoot)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    /// `dig` against a local server, without recursion, printing the header and the sections.
    static func dig(
        port: Int, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line
    ) throws -> String {
        let result = try run(
            "dig", ["@127.0.0.1", "-p", "\(port)", "+norec", "+time=2", "+tries=1"] + arguments, file: file,
            line: line)
        if reflected(result.output) {
            XCTFail(
                "dig read its own query back: its source port is the server's (LoopbackPort)", file: file, line: line)
        }
        return result.output
    }

    /// Whether dig's "reply" was its own query (no QR bit): what a dig whose UDP socket shares the server's port
    /// reads, with "status: NOERROR" and no answer. No server of the tests ever replies without QR.
    static func reflected(_ output: String) -> Bool {
        output.contains(";; Warning: query response not set")
    }

    /// The record lines of a section printed by `dig +noall +answer` and the like: "name ttl class type data".
    static func records(_ output: String) -> [String] {
        output.split(separator: "\n").map(String.init)
            .filter { !$0.hasPrefix(";") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            .map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ") }
    }

    /// The lines of one `;; NAME SECTION:` of dig's output, up to the blank line that ends it.
    static func section(_ name: String, of output: String) -> String {
        guard let start = output.range(of: ";; \(name) SECTION:\n") else { return "" }
        let rest = output[start.upperBound...]
        return String(rest[..<(rest.range(of: "\n\n")?.lowerBound ?? rest.endIndex)])
    }

    /// The `status:` dig prints.
    static func status(_ output: String) -> String? {
        guard let range = output.range(of: #"status: ([A-Z]+)"#, options: .regularExpression) else { return nil }
        return String(output[range].dropFirst("status: ".count))
    }

    /// The header flags dig prints (`qr aa rd`).
    static func flags(_ output: String) -> [String] {
        guard let range = output.range(of: #"flags: [a-z ]*;"#, options: .regularExpression) else { return [] }
        return output[range].dropFirst("flags: ".count).dropLast().split(separator: " ").map(String.init)
    }
}
