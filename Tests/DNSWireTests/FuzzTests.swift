import XCTest

@testable import DNSWire

/// Deterministic mutation fuzzing: parsing never traps, and what parses re-serializes into something that
/// parses back to the same message.
final class FuzzTests: XCTestCase {
    static let iterations = 20_000

    private static let seeds: [[UInt8]] = [
        Fixtures.fullResponse.serialized(),
        Fixtures.fullResponse.serialized(compress: false),
        Fixtures.query.serialized(),
        Fixtures.awkwardNames.serialized(),
        Fixtures.badVers.serialized(),
    ]

    /// Octets that steer a parser into its edge cases: pointers, label types, lengths 63/64, zero.
    private static let interesting: [UInt8] = [0x00, 0x01, 0x3F, 0x40, 0x80, 0xC0, 0xFF, 0x29, 0x0C]

    private static func mutate(_ input: [UInt8], using generator: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &generator) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<7, using: &generator) {
            case 0 where !bytes.isEmpty:
                bytes[position] ^= 1 << UInt8.random(in: 0..<8, using: &generator)
            case 1 where !bytes.isEmpty:
                bytes = Array(bytes.prefix(position))
            case 2:
                let count = Int.random(in: 1...8, using: &generator)
                let inserted = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
                bytes.insert(contentsOf: inserted, at: min(position, bytes.count))
            case 3 where !bytes.isEmpty:
                bytes[position] = interesting.randomElement(using: &generator)!
            case 4 where bytes.count > 1:
                let end = min(bytes.count, position + Int.random(in: 1...16, using: &generator))
                bytes.removeSubrange(position..<end)
            case 5 where bytes.count > 12:
                // Lie in a section count.
                bytes[4 + 2 * Int.random(in: 0..<4, using: &generator) + 1] &+= UInt8.random(
                    in: 1...3, using: &generator)
            default:
                // Copy a run of the message over another place, as a duplicated or shifted record would.
                guard bytes.count > 4 else { continue }
                let length = Int.random(in: 1...min(32, bytes.count / 2), using: &generator)
                let from = Int.random(in: 0...(bytes.count - length), using: &generator)
                let to = Int.random(in: 0...(bytes.count - length), using: &generator)
                bytes.replaceSubrange(to..<to + length, with: bytes[from..<from + length])
            }
        }
        return bytes
    }

    func testMutatedMessagesNeverTrapAndReparse() {
        var generator = SplitMix64(seed: 0x5CD5)
        var accepted = 0
        var errors: [String: Int] = [:]
        for iteration in 0..<Self.iterations {
            let seed = Self.seeds[iteration % Self.seeds.count]
            let mutated = Self.mutate(seed, using: &generator)
            let parsed: Message
            do throws(DNSWireError) {
                parsed = try Message(parsing: mutated)
            } catch {
                errors[String("\(error)".prefix(while: { $0 != "(" })), default: 0] += 1
                continue
            }
            accepted += 1
            let again = parsed.serialized()
            do throws(DNSWireError) {
                let reparsed = try Message(parsing: again)
                if reparsed != parsed {
                    XCTFail("iteration \(iteration): reparse differs for \(hex(mutated))")
                }
            } catch {
                XCTFail("iteration \(iteration): \(error) reparsing what \(hex(mutated)) parsed to")
            }
        }
        // Guard against a vacuous run: some mutations must survive and several kinds of error must occur.
        XCTAssertGreaterThan(accepted, Self.iterations / 50, "accepted \(accepted)")
        XCTAssertGreaterThanOrEqual(errors.count, 6, "\(errors)")
    }

    /// Every prefix of a valid message is rejected (the counts promise more), never trapping.
    func testEveryTruncationIsRejected() {
        for seed in Self.seeds {
            for length in 0..<seed.count {
                XCTAssertThrowsError(try Message(parsing: seed.prefix(length)), "length \(length)")
            }
        }
    }

    /// Random garbage behind a plausible header.
    func testRandomBytesNeverTrap() {
        var generator = SplitMix64(seed: 42)
        for _ in 0..<2000 {
            let count = Int.random(in: 0...96, using: &generator)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if bytes.count >= 12 { bytes.replaceSubrange(4..<12, with: [0, 1, 0, 1, 0, 0, 0, 1]) }
            if let message = try? Message(parsing: bytes) {
                XCTAssertEqual(try? Message(parsing: message.serialized()), message)
            }
        }
    }

    private func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
