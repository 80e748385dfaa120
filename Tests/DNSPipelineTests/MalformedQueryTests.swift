import DNSPipeline
import DNSWire
import XCTest

/// Untrusted bytes: FORMERR with the query's ID for anything with a readable header, a drop for less, and never a
/// crash (DESIGN.md 1 and 7).
final class MalformedQueryTests: XCTestCase {
    private let processor = PipelineFixture.shared
    private static let valid = TestQuery(name: "backend.app.svc.supercluster.local", type: .a, id: 0x4242).wire

    /// A header with ID 0x4242, RD, and the given counts.
    private static func header(qd: UInt8 = 1, an: UInt8 = 0, ns: UInt8 = 0, ar: UInt8 = 0) -> [UInt8] {
        [0x42, 0x42, 0x01, 0x00, 0, qd, 0, an, 0, ns, 0, ar]
    }

    /// Five labels of 63 octets: 321 octets of name, over the 255 limit.
    private static let longName: [UInt8] =
        Array(repeating: [63] + Array(repeating: 0x61, count: 63), count: 5).flatMap { $0 } + [0]

    private static let question: [UInt8] = [3] + Array("foo".utf8) + [0, 0, 1, 0, 1]

    func testMalformedPacketsGetFORMERRWithTheirID() throws {
        let valid = Self.valid
        let cases: [(String, [UInt8])] = [
            ("truncated question name", Array(valid.prefix(20))),
            ("question without type and class", Array(valid.prefix(valid.count - 4))),
            ("question without class", Array(valid.prefix(valid.count - 2))),
            ("header only, QDCOUNT 1", Self.header()),
            ("pointer to itself", Self.header() + [0xC0, 12, 0, 1, 0, 1]),
            ("pointer into the header", Self.header() + [0xC0, 4, 0, 1, 0, 1]),
            ("pointer forward", Self.header() + [0xC0, 20, 0, 1, 0, 1, 0, 0, 0, 0]),
            ("pointer outside the packet", Self.header() + [0xC0, 0xFF, 0, 1, 0, 1]),
            ("extended label type", Self.header() + [0x41, 0, 0, 1, 0, 1]),
            ("label past the end", Self.header() + [40, 0x61, 0x62, 0, 0, 1, 0, 1]),
            ("name over 255 octets", Self.header() + Self.longName + [0, 1, 0, 1]),
            ("trailing garbage", Self.valid + [0xDE, 0xAD]),
            ("announced answer missing", Self.header(an: 1) + Self.question),
            ("announced additional truncated", Self.header(ar: 1) + Self.question + [0, 0, 41, 0x10]),
            ("OPT in the answer section", Self.header(an: 1) + Self.question + [0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 0]),
            (
                "two OPT records",
                Self.header(ar: 2) + Self.question
                    + Array(repeating: [0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 0], count: 2).flatMap { $0 }
            ),
            (
                "OPT owned by a non-root name",
                Self.header(ar: 1) + Self.question + [1, 0x61, 0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 0]
            ),
            (
                "EDNS option overrunning its OPT",
                Self.header(ar: 1) + Self.question + [0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 4, 0, 8, 0, 9]
            ),
            ("RDLENGTH past the end", Self.header(ar: 1) + Self.question + [0, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 10]),
            (
                "garbage",
                [0x42, 0x42, 0x00, 0x00] + [0xFF, 0x13, 0x37, 0x00, 0x99, 0xAB, 0xCD, 0xEF, 0x01, 0x02, 0x03]
            ),
        ]
        for (label, packet) in cases {
            let bytes = try XCTUnwrap(processor.process(packet, client: .pod), "\(label): dropped")
            XCTAssertGreaterThanOrEqual(bytes.count, 12, label)
            let response = try XCTUnwrap(try? Message(parsing: bytes), "\(label): unparsable response")
            XCTAssertEqual(response.header.id, 0x4242, label)
            XCTAssertTrue(response.header.isResponse, label)
            XCTAssertEqual(response.rcode, .formErr, label)
            XCTAssertEqual(response.answers, [], label)
            XCTAssertFalse(response.header.authoritative, label)
        }
    }

    func testUnanswerablePacketsAreDropped() {
        let cases: [(String, [UInt8])] = [
            ("empty", []),
            ("one octet", [0x42]),
            ("eleven octets", Array(Self.header().prefix(11))),
            ("a response", [0x42, 0x42, 0x81, 0x80] + Array(Self.valid[4...])),
            ("a malformed response", [0x42, 0x42, 0x80, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0]),
            ("a response with QDCOUNT 0", [0x42, 0x42, 0x84, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]),
        ]
        for (label, packet) in cases {
            XCTAssertNil(processor.process(packet, client: .pod), label)
        }
    }

    /// Every prefix and every single-octet corruption of valid queries: a drop or a parsable response with the
    /// same ID, never a trap.
    func testMutationsNeverCrash() throws {
        var edns = TestQuery(name: "_http._tcp.backend.app.svc.supercluster.local", type: .srv, id: 0x4242)
        edns.edns = EDNS(udpPayloadSize: 4096, dnssecOK: true, options: [EDNSOption(code: 10, data: Array(0..<8))])
        for original in [Self.valid, edns.wire] {
            for length in 0..<original.count {
                checkSurvives(Array(original.prefix(length)), "prefix \(length)")
            }
            for index in original.indices {
                for value: UInt8 in [0x00, 0x3F, 0x40, 0x80, 0xC0, 0xFF, original[index] ^ 0x20] {
                    var packet = original
                    packet[index] = value
                    checkSurvives(packet, "octet \(index) = \(value)")
                }
            }
        }
    }

    /// Random packets from a fixed seed, half of them starting with a plausible header.
    func testRandomPacketsNeverCrash() {
        var generator = SplitMix64(seed: 0x5CD7)
        for round in 0..<3000 {
            let length = Int(generator.next() % 80)
            var packet = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            if round % 2 == 0 && packet.count >= 12 {
                packet.replaceSubrange(0..<12, with: Self.header(ar: UInt8(round % 3)))
            }
            checkSurvives(packet, "round \(round)")
        }
    }

    private func checkSurvives(_ packet: [UInt8], _ label: String) {
        guard let bytes = processor.process(packet, client: .pod) else {
            XCTAssertTrue(packet.count < 12 || packet[2] & 0x80 != 0, "\(label): dropped a query with a header")
            return
        }
        guard let response = try? Message(parsing: bytes) else {
            XCTFail("\(label): unparsable response")
            return
        }
        XCTAssertEqual(response.header.id, UInt16(packet[0]) << 8 | UInt16(packet[1]), label)
        XCTAssertTrue(response.header.isResponse, label)
    }
}

/// A small deterministic generator (Steele et al.), so random tests repeat exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
