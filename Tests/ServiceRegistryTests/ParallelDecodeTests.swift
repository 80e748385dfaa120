import XCTest

@testable import ServiceRegistry

/// A registry's entries decoded on several threads give what one thread gives: the same services, and for a
/// file with mistakes, the first mistake in the file, whichever thread met it and whenever.
final class ParallelDecodeTests: XCTestCase {
    /// 3,000 entries, 1,500 services of two clusters each (every seventh headless), the two exports of a service
    /// 1,500 entries apart, so the merge joins entries that different threads decoded.
    func registry(mistakes: [Int: String] = [:]) -> String {
        var text = "services:\n"
        for index in 0..<3_000 {
            let headless = index % 1_500 % 7 == 0
            text += "  - name: svc\(index % 1_500)\n    namespace: ns\(index % 3)\n"
            text += headless ? "    type: Headless\n" : ""
            text += "    ports: [{ name: http, port: 80 }]\n    clusters:\n"
            text += "      - cluster: c\(index / 1_500)\n"
            if let mistake = mistakes[index] {
                text += "        \(mistake)\n"
            } else if headless {
                text += "        endpoints: [{ hostname: pod, addresses: [10.1.\(index % 250).\(index % 199 + 1)] }]\n"
            } else {
                text +=
                    "        addresses: [10.0.\(index % 250).\(index % 199 + 1)]\n        weight: \(index % 9 + 1)\n"
            }
        }
        return text
    }

    func testSeveralThreadsDecodeWhatOneDecodes() throws {
        let text = registry()
        let one = try RegistryDecoder.decode(text, file: "r.yaml", threads: 1)
        XCTAssertEqual(one.count, 1_500)
        XCTAssertEqual(one.filter { $0.clusters.count == 2 }.count, 1_500)
        for threads in [2, 3, 8] {
            XCTAssertEqual(
                try RegistryDecoder.decode(text, file: "r.yaml", threads: threads), one, "\(threads) threads")
        }
    }

    func testTheFirstMistakeInTheFileIsReported() throws {
        // Entry 2,900 is in the last run of 2 threads' 16, entry 40 in the first, entry 1,700 in between.
        let mistakes = [2_900: "addresses: [10.0.0.300]", 1_700: "weight: 0", 40: "adresses: [10.0.0.1]"]
        for threads in [1, 2, 5] {
            for dropped in [[], [40], [40, 1_700]] {
                let text = registry(mistakes: mistakes.filter { !dropped.contains($0.key) })
                XCTAssertThrowsError(try RegistryDecoder.decode(text, file: "r.yaml", threads: threads)) { error in
                    let error = error as? RegistryError
                    let first = [40, 1_700, 2_900].first { !dropped.contains($0) }!
                    XCTAssertEqual(
                        error?.field.hasPrefix("services[\(first)]"), true, "\(threads): \(String(describing: error))")
                }
            }
        }
    }
}
