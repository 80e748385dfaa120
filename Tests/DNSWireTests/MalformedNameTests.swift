import XCTest

@testable import DNSWire

/// Malformed headers, questions and names; every case must throw exactly the expected error.
final class MalformedNameTests: XCTestCase {
    func testTruncatedHeader() {
        let header: [UInt8] = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for length in 0..<12 {
            assertParseError(Array(header.prefix(length)), .truncated(offset: length & ~1), "length \(length)")
        }
    }

    func testTruncatedQuestion() {
        var builder = WireBuilder(qd: 1)
        builder.question("a.example")  // name 12..<23, type 23..<25, class 25..<27
        let table: [(Int, Int)] = [
            (12, 12), (13, 12), (14, 14), (18, 14), (21, 14), (22, 22), (23, 23), (24, 23), (25, 25), (26, 25),
        ]
        for (cut, offset) in table {
            assertParseError(Array(builder.bytes.prefix(cut)), .truncated(offset: offset), "cut at \(cut)")
        }
        XCTAssertNotNil(parseOrFail(builder.bytes))
    }

    func testLabelLengthPastTheEnd() {
        var builder = WireBuilder(qd: 1)
        builder.raw([5, 0x61, 0x62])
        assertParseError(builder.bytes, .truncated(offset: 12))
    }

    /// 0x40 and 0x80 label types (the extended and reserved ones) look like lengths over 63.
    func testExtendedLabelTypes() {
        for first: UInt8 in [0x40, 0x41, 0x7F, 0x80, 0xA0, 0xBF] {
            var builder = WireBuilder(qd: 1)
            builder.raw([first] + [UInt8](repeating: 0x61, count: Int(first & 0x3F)) + [0, 0, 1, 0, 1])
            assertParseError(builder.bytes, .badLabelType(offset: 12), "first octet \(first)")
        }
        var builder = WireBuilder(qd: 1)
        builder.raw([1, 0x61, 0x80, 0, 0, 1, 0, 1])
        assertParseError(builder.bytes, .badLabelType(offset: 14))
    }

    /// The answering path's scan walks a question's plain labels on a fast path of its own; every malformed
    /// question name must still fail it with the full parser's error, and the longest valid name must pass.
    func testTheScanRejectsEachMalformedQuestionNameAsTheParserDoes() throws {
        let label63 = [63] + [UInt8](repeating: 0x61, count: 63)
        let tail: [UInt8] = [0, 0, 1, 0, 1]
        var names: [(String, [UInt8])] = [
            ("label past the end", [5, 0x61, 0x62]),
            ("cut after a length", [1, 0x61, 9]),
            ("no root label", [1, 0x61]),
            ("256 octets", label63 + label63 + label63 + label63 + tail),
            ("256 octets of one-octet labels", Array(repeating: [1, 0x61], count: 128).flatMap { $0 } + tail),
            ("pointer to itself", [0xC0, 12, 0, 1, 0, 1]),
            ("forward pointer", [0xC0, 14, 0, 0, 1, 0, 1]),
            ("pointer after a label", [1, 0x61, 0xC0, 12, 0, 1, 0, 1]),
        ]
        for first: UInt8 in [0x40, 0x7F, 0x80, 0xBF] {
            names.append(("label type \(first)", [first] + [UInt8](repeating: 0x61, count: Int(first & 0x3F)) + tail))
        }
        for (label, name) in names {
            var builder = WireBuilder(qd: 1)
            builder.raw(name)
            let bytes = builder.bytes
            var parserError: DNSWireError?
            do throws(DNSWireError) { _ = try Message(parsing: bytes) } catch { parserError = error }
            let expected = try XCTUnwrap(parserError, label)
            XCTAssertThrowsError(try bytes.withUnsafeBytes { try QueryView.scan($0) }, label) {
                XCTAssertEqual($0 as? DNSWireError, expected, label)
            }
        }
        var builder = WireBuilder(qd: 1)
        builder.raw(label63 + label63 + label63 + [61] + [UInt8](repeating: 0x62, count: 61) + tail)
        let view = try builder.bytes.withUnsafeBytes { try QueryView.scan($0) }
        XCTAssertEqual(view.nameEnd - view.nameStart, 255)
    }

    func testNameOver255Octets() {
        let label63 = [63] + [UInt8](repeating: 0x61, count: 63)
        var builder = WireBuilder(qd: 1)
        builder.raw(label63 + label63 + label63 + [61] + [UInt8](repeating: 0x62, count: 61) + [0, 0, 1, 0, 1])
        XCTAssertEqual(parseOrFail(builder.bytes)?.questions.first?.name.wire.count, 255)
        builder = WireBuilder(qd: 1)
        builder.raw(label63 + label63 + label63 + label63 + [0, 0, 1, 0, 1])
        assertParseError(builder.bytes, .nameTooLong(offset: 12))
        builder = WireBuilder(qd: 1)
        builder.raw(Array(repeating: [1, 0x61], count: 128).flatMap { $0 } + [0, 0, 1, 0, 1])
        assertParseError(builder.bytes, .nameTooLong(offset: 12))
    }

    /// Each part is short, but following the pointer makes the name 321 octets.
    func testNameOver255OctetsThroughAPointer() {
        let label63 = [63] + [UInt8](repeating: 0x61, count: 63)
        var builder = WireBuilder(qd: 2)
        builder.raw(label63 + label63 + label63 + [0, 0, 1, 0, 1])
        let second = builder.count
        builder.raw(label63 + label63 + [0xC0, 12, 0, 1, 0, 1])
        assertParseError(builder.bytes, .nameTooLong(offset: second))
    }

    func testPointers() {
        var table: [(String, [UInt8], DNSWireError)] = []
        var builder = WireBuilder(qd: 1)
        builder.raw([0xC0, 12, 0, 1, 0, 1])
        table.append(("pointer to itself", builder.bytes, .badPointer(offset: 12)))

        builder = WireBuilder(qd: 1)
        builder.raw([0xC0, 14, 0, 0, 1, 0, 1])
        table.append(("forward pointer", builder.bytes, .badPointer(offset: 12)))

        builder = WireBuilder(qd: 2)
        builder.question("a.example")
        builder.raw([1, 0x62, 0xC0, 27, 0, 1, 0, 1])
        table.append(("pointer to its own name", builder.bytes, .badPointer(offset: 29)))

        builder = WireBuilder(qd: 1)
        builder.raw([0xC0])
        table.append(("pointer cut short", builder.bytes, .truncated(offset: 12)))

        builder = WireBuilder(qd: 1)
        builder.raw([0xFF, 0xFF, 0, 1, 0, 1])
        table.append(("pointer past the end", builder.bytes, .badPointer(offset: 12)))

        // Two pointers at 23 and 25 in opaque RDATA point at each other; the second record's owner enters
        // the loop from either side.
        for entry: UInt8 in [23, 25] {
            builder = WireBuilder(an: 2)
            builder.record(owner: [0], type: 65280, rdata: [0xC0, 25, 0xC0, 23])
            builder.record(owner: [0xC0, entry], type: 1, rdata: [1, 2, 3, 4])
            table.append(("pointer loop entered at \(entry)", builder.bytes, .badPointer(offset: 23)))
        }
        for (label, bytes, expected) in table {
            assertParseError(bytes, expected, label)
        }
    }

    /// A chain of backward pointers, each two octets before the next, ending at a root label at 23.
    private func pointerChain(links: Int) -> [UInt8] {
        func pointer(to target: Int) -> [UInt8] { [0xC0 | UInt8(target >> 8), UInt8(target & 0xFF)] }
        var chain: [UInt8] = [0]
        for link in 1...links {
            chain += pointer(to: link == 1 ? 23 : 22 + 2 * (link - 1))
        }
        var builder = WireBuilder(an: 2)
        builder.record(owner: [0], type: 65280, rdata: chain)
        builder.record(owner: pointer(to: 22 + 2 * links), type: 1, rdata: [1, 2, 3, 4])
        return builder.bytes
    }

    func testPointerChainBound() {
        let bound = WireReader.maxPointerHops
        XCTAssertEqual(bound, 127)
        // The owner's own pointer is one hop, so a chain of bound - 1 links is the longest accepted.
        XCTAssertTrue(parseOrFail(pointerChain(links: bound - 1))?.answers.last?.name.isRoot ?? false)
        assertParseError(pointerChain(links: bound), .badPointer(offset: 24))
    }

    func testValidBackwardPointersToEveryEarlierName() {
        var builder = WireBuilder(qd: 3)
        builder.question("a.example")
        builder.raw([1, 0x62, 0xC0, 14, 0, 1, 0, 1])  // b + "example"
        builder.raw([1, 0x63, 0xC0, 27, 0, 1, 0, 1])  // c + "b.example"
        XCTAssertEqual(
            parseOrFail(builder.bytes)?.questions.map(\.name.description), ["a.example.", "b.example.", "c.b.example."])
    }
}
