import DNSPipeline
import DNSWire
import ServiceRegistry
import XCTest

/// A tier with more exports than `ChoiceTable.maxOrderings` is not precompiled ordering by ordering: its
/// records are rotated in the copied response per query. The same promises hold on that path.
final class LargeTierRotationTests: XCTestCase {
    private typealias L = LocalityFixture
    private static let own = Locality(cluster: "c0", region: "r1", zone: "r1a")
    /// Twenty exports sharing the same-zone tier: nineteen of weight 100 and one of 1900 (half the tier).
    private static let services = L.services(
        "services:\n  - name: many\n    namespace: app\n    clusters:\n"
            + (1...20).map { index in
                "      - { cluster: c\(index), region: r1, zone: r1a, addresses: [10.220.0.\(index)],"
                    + " weight: \(index == 20 ? 1900 : 100) }\n"
            }.joined())
    /// The registry keeps exports sorted by cluster name (c1, c10, c11, ..., c2, c20, c3, ...): the tier's order.
    private static let tier = (1...20).sorted { "c\($0)" < "c\($1)" }.map { "10.220.0.\($0)" }

    func testWeightsHoldOnThePerQueryRotationPath() {
        let processor = L.processor(L.settings(locality: Self.own), services: Self.services, seed: 7)
        let shares = L.leadShares(10_000, of: processor, "many.app.svc.supercluster.local") { answers in
            XCTAssertTrue(isRotation(answers, of: Self.tier), "\(answers)")
        }
        var weights = Dictionary(uniqueKeysWithValues: Self.tier.map { ($0, 100.0) })
        weights["10.220.0.20"] = 1900
        assertShares(shares, weights: weights)
    }

    func testMaxAnswersCutsAfterTheRotation() {
        let processor = L.processor(
            L.settings(locality: Self.own, maxAnswers: 2), services: Self.services, seed: 7)
        var leaders = Set<String>()
        for _ in 0..<200 {
            let answers = L.answers(processor, "many.app.svc.supercluster.local")
            XCTAssertEqual(answers.count, 2)
            guard let first = answers.first, let index = Self.tier.firstIndex(of: first) else {
                return XCTFail("\(answers)")
            }
            // The second record follows the first in the tier's cyclic order.
            XCTAssertEqual(answers.last, Self.tier[(index + 1) % Self.tier.count])
            leaders.insert(first)
        }
        XCTAssertGreaterThan(leaders.count, 10, "the lead moves between exports")
    }
}
