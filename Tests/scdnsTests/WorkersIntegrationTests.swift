import Foundation
import XCTest

/// `workers: auto` as a process sees it: one UDP thread per CPU its affinity mask allows, so a server started
/// under `taskset -c 0` runs one, whatever the machine has.
final class WorkersIntegrationTests: XCTestCase {
    func testAutoRunsOneWorkerUnderAOneCPUMask() throws {
        let taskset = ["/usr/bin/taskset", "/bin/taskset"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard taskset != nil else {
            XCTFail("taskset is missing (util-linux, an essential package on Debian)")
            return
        }
        let server = try ServerProcess(arguments: ["--registry", "registry.yaml"], wrapper: ["taskset", "-c", "0"])
        let listening = try server.awaitLog(matching: #"address=127\.0\.0\.1:\d+ workers=(\d+) .*listening"#)
        XCTAssertEqual(listening[1], "1")
    }
}
