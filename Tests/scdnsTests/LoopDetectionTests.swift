import Foundation
import XCTest

/// DESIGN.md section 4: a forward rule whose upstream sends the query back to scdns is found at start-up by a
/// probe name, logged and disabled, instead of bouncing queries between the two until they time out.
final class LoopDetectionTests: XCTestCase {
    func testARuleForwardingToScdnsItselfIsDetectedAndAnswersServfailAtOnce() throws {
        let port = try LoopbackPort.reserve()
        let directory = NSTemporaryDirectory() + "scdns-loop-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/scdns.yaml"
        try """
        zones: \(ServerProcess.repositoryRoot)/zones
        registry: { file: \(ServerProcess.repositoryRoot)/registry.yaml }
        forward:
          - { zone: loop.test, upstreams: ["127.0.0.1:\(port)"] }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        // Listen on the rule's own upstream port too: the rule points back at this very server.
        let server = try ServerProcess(arguments: ["--config", config, "--listen", "127.0.0.1:\(port)"])
        try server.awaitLog(matching: #"zone=loop\.test\. .*forward rule loops back to scdns"#)
        let start = Date()
        let output = try Tools.dig(port: port, ["a.loop.test", "A"])
        XCTAssertEqual(Tools.status(output), "SERVFAIL", output)
        XCTAssertLessThan(Date().timeIntervalSince(start), 1.0, "a disabled rule answers at once")
        // The server's own names are unaffected.
        XCTAssertEqual(Tools.status(try Tools.dig(port: port, ["backend.app.svc.supercluster.local", "A"])), "NOERROR")
        XCTAssertEqual(server.stop(), 0)
    }
}
