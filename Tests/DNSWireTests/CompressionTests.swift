import XCTest

@testable import DNSWire

final class CompressionTests: XCTestCase {
    func testCompressionShrinksTheMessageAndUsesPointers() {
        let message = Fixtures.fullResponse
        let compressed = message.serialized()
        let plain = message.serialized(compress: false)
        XCTAssertLessThan(compressed.count, plain.count)
        let compressedSites = nameSites(in: compressed)
        let plainSites = nameSites(in: plain)
        XCTAssertEqual(compressedSites.count, plainSites.count)
        XCTAssertGreaterThan(compressedSites.filter(\.compressed).count, compressedSites.count / 2)
        XCTAssertEqual(compressedSites.first?.compressed, false, "the question's name has nothing to point at")
    }

    /// With compression off no name may contain a pointer, not even the second name of an SOA.
    func testUncompressedOutputHasNoPointers() {
        for message in [Fixtures.fullResponse, Fixtures.awkwardNames] {
            let sites = nameSites(in: message.serialized(compress: false))
            XCTAssertFalse(sites.isEmpty)
            for site in sites where site.compressed {
                XCTFail("pointer in \(site.context) name at offset \(site.offset)")
            }
        }
    }

    func testExactPointerBytes() {
        let message = Message(
            questions: [Question(name: dn("www.example.com"), type: .a)],
            answers: [ResourceRecord(name: dn("WWW.example.com"), ttl: 60, data: .cname(dn("mail.example.com")))])
        let bytes = message.serialized()
        // Question name at 12: 3www 7example 3com 0, so "example.com" starts at 16.
        let answer = 12 + 17 + 4
        XCTAssertEqual(Array(bytes[answer..<answer + 2]), [0xC0, 0x0C], "owner points at the question")
        let rdata = answer + 2 + 10
        XCTAssertEqual(u16(bytes, at: rdata - 2), 7)
        XCTAssertEqual(Array(bytes[rdata..<rdata + 7]), [4] + Array("mail".utf8) + [0xC0, 0x10])
        XCTAssertEqual(bytes.count, rdata + 7)
    }

    /// RFC 2782: the SRV target is never compressed, even when its whole name was written before.
    func testSRVTargetIsNotCompressed() {
        let target = dn("www.example.com")
        let message = Message(
            questions: [Question(name: dn("_sip._tcp.example.com"), type: .srv)],
            answers: [
                ResourceRecord(name: target, ttl: 60, data: .a(IPv4Address(rawValue: 1))),
                ResourceRecord(
                    name: dn("_sip._tcp.example.com"), ttl: 60,
                    data: .srv(SRVRecord(priority: 1, weight: 2, port: 5060, target: target))),
            ])
        let bytes = message.serialized()
        let srvRData = [0, 1, 0, 2, 0x13, 0xC4] + target.wire
        XCTAssertEqual(Array(bytes.suffix(srvRData.count)), srvRData)
        XCTAssertEqual(u16(bytes, at: bytes.count - srvRData.count - 2), UInt16(srvRData.count))
        let sites = nameSites(in: bytes)
        XCTAssertEqual(sites.map(\.context), ["question", "owner", "owner", "SRV"])
        XCTAssertEqual(sites.map(\.compressed), [false, true, true, false])
        XCTAssertEqual(parseOrFail(bytes), message)
    }

    /// Receivers decompress SRV targets anyway (RFC 3597 4), so a compressed one from elsewhere still parses.
    func testCompressedSRVTargetIsAccepted() {
        var builder = WireBuilder(flags: 0x8000, qd: 1, an: 1)
        builder.question("www.example.com", type: 33)
        builder.record(owner: [0xC0, 12], type: 33, rdata: [0, 1, 0, 2, 0, 80, 0xC0, 12])
        guard let message = parseOrFail(builder.bytes) else { return }
        XCTAssertEqual(
            message.answers.first?.data,
            .srv(SRVRecord(priority: 1, weight: 2, port: 80, target: dn("www.example.com"))))
    }

    func testCompressionMatchesSuffixesCaseInsensitively() {
        let message = Message(
            questions: [Question(name: dn("A.EXAMPLE.COM"), type: .a)],
            answers: [ResourceRecord(name: dn("b.example.com"), ttl: 1, data: .a(IPv4Address(rawValue: 1)))])
        let bytes = message.serialized()
        let owner = 12 + 15 + 4
        XCTAssertEqual(Array(bytes[owner..<owner + 4]), [1, UInt8(ascii: "b"), 0xC0, 14])
    }

    /// Offsets beyond 0x3FFF cannot be pointed at; names there are written in full and still parse.
    func testNamesBeyondPointerRangeAreWrittenInFull() {
        let filler = ResourceRecord(
            name: dn("fill.example"), ttl: 1,
            data: .unknown(type: RecordType(65280), data: Array(repeating: 0xAB, count: 0x4000)))
        let late = ResourceRecord(name: dn("late.test"), ttl: 1, data: .a(IPv4Address(rawValue: 2)))
        let message = Message(answers: [filler, late, late])
        let bytes = message.serialized()
        XCTAssertEqual(parseOrFail(bytes), message)
        let sites = nameSites(in: bytes)
        XCTAssertEqual(sites.map(\.compressed), [false, false, false])
    }

    /// The table against the rule written out plainly (each lower-cased suffix remembered at the offset it was
    /// first written in full, up to 0x3FFF; a name points at the longest suffix known), over many random names
    /// sharing labels in random letter case, often one name twice in a row, some written with `compress: false`
    /// as SRV targets are, and cuts
    /// as truncation makes (between names: the serializer cuts whole RRsets): the same bytes, whether the
    /// suffixes' hashes differ or all collide.
    func testTheTableWritesWhatThePlainRuleWrites() throws {
        var generator = SystemRandomNumberGenerator()
        let labels = ["a", "B", "www", "Example", "com", "svc", "x-1", "CLUSTER", "local", "pod"]
        // And with every hash alike, so that the check against the written bytes does all the work: a name whose
        // suffixes collide on purpose must cost time, never a wrong pointer or a read past the end.
        for round in 0..<600 {
            var table = CompressionTable(everyHashCollides: round >= 300)
            var buffer = [UInt8](repeating: 0, count: Int.random(in: 12...40, using: &generator))
            var reference = [String: Int]()
            var expected = buffer
            var boundaries = [buffer.count]
            var previous: String? = nil
            for _ in 0..<Int.random(in: 1...40, using: &generator) {
                let count = Int.random(in: 0...5, using: &generator)
                var text = (0..<count).map { _ in labels.randomElement(using: &generator)! }.joined(separator: ".")
                // Often the name just written again, as each record of an answer repeats the question's name.
                if let previous, Int.random(in: 0..<3, using: &generator) == 0 { text = previous }
                previous = text
                let name = try DNSName(text.isEmpty ? "." : text + ".")
                let compress = Int.random(in: 0..<4, using: &generator) != 0
                table.write(name, to: &buffer, compress: compress)
                let wire = name.wire
                var position = 0
                var pointed = false
                while wire[position] != 0 {
                    let key = wire[position...].map { DNSName.lowercaseASCII($0) }.map(String.init).joined(
                        separator: ",")
                    if compress, let target = reference[key] {
                        expected += [0xC0 | UInt8(target >> 8), UInt8(target & 0xFF)]
                        pointed = true
                        break
                    }
                    if expected.count <= 0x3FFF && reference[key] == nil { reference[key] = expected.count }
                    expected += wire[position...(position + Int(wire[position]))]
                    position += 1 + Int(wire[position])
                }
                if !pointed { expected.append(0) }
                XCTAssertEqual(buffer, expected, text)
                boundaries.append(buffer.count)
                if Int.random(in: 0..<10, using: &generator) == 0 {
                    // A cut, as truncation makes: what was written from the mark on is forgotten.
                    let mark = boundaries.randomElement(using: &generator)!
                    boundaries.removeAll { $0 > mark }
                    buffer.removeSubrange(mark...)
                    expected.removeSubrange(mark...)
                    table.forget(from: mark)
                    reference = reference.filter { $0.value < mark }
                }
            }
        }
    }
}
