import XCTest

/// The test servers' ports, and why they are not the kernel's (`LoopbackPort`).
final class LoopbackPortTests: XCTestCase {
    static let name = "backend.app.svc.supercluster.local"

    /// A dig whose UDP socket is given the server's port (dig binds with SO_REUSEPORT, so the kernel allows it
    /// beside the server's workers) reads its own query as the reply: NOERROR with no answer, the intermittent
    /// "no address" failures of two etcd tests. `Tools.dig` recognises it and fails loudly.
    func testADigOnTheServersOwnPortReadsItsOwnQueryBackAndToolsDigSaysSo() throws {
        let server = try ServerProcess(arguments: [])
        let output = try Tools.run(
            "dig", ["-b", "127.0.0.1#\(server.port)", "@127.0.0.1", "-p", "\(server.port)", "+norec", Self.name, "A"]
        ).output
        XCTAssertEqual(Tools.status(output), "NOERROR", output)
        XCTAssertEqual(Tools.records(output), [], output)
        XCTAssertTrue(Tools.reflected(output), output)
        // The same server answers a dig on a port of its own.
        let answered = try Tools.dig(port: server.port, [Self.name, "A"])
        XCTAssertFalse(Tools.reflected(answered), answered)
        XCTAssertEqual(Tools.records(answered).count, 3, answered)
        XCTAssertEqual(server.stop(), 0)
    }

    /// So the servers listen where the kernel never picks a client's port.
    func testServersListenOutsideTheKernelsEphemeralRange() throws {
        let ephemeral = LoopbackPort.ephemeralRange
        let server = try ServerProcess(arguments: [])
        XCTAssertFalse(ephemeral.contains(server.port), "port \(server.port) is in \(ephemeral)")
        let knot = try KnotProcess()
        XCTAssertFalse(ephemeral.contains(knot.port), "Knot's port \(knot.port) is in \(ephemeral)")
        let ports = try (0..<50).map { _ in try LoopbackPort.reserve() }
        XCTAssertEqual(Set(ports).count, ports.count, "a port handed out twice: \(ports.sorted())")
        XCTAssertTrue(ports.allSatisfy { !ephemeral.contains($0) && $0 >= 10_000 }, "\(ports.sorted())")
        XCTAssertEqual(server.stop(), 0)
    }
}
