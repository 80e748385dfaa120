import XCTest

@testable import DNSWire

/// The allocation-free query scanner must agree with the full parser.
final class QueryViewTests: XCTestCase {
    private func scan(_ bytes: [UInt8]) -> Result<QueryView, DNSWireError> {
        bytes.withUnsafeBytes { raw in
            do throws(DNSWireError) {
                return .success(try QueryView.scan(raw))
            } catch {
                return .failure(error)
            }
        }
    }

    private func parse(_ bytes: [UInt8]) -> Result<Message, DNSWireError> {
        do throws(DNSWireError) {
            return .success(try Message(parsing: bytes))
        } catch {
            return .failure(error)
        }
    }

    func testFieldsMatchTheMessage() {
        var withOptions = Fixtures.query
        withOptions.edns = Fixtures.edns
        withOptions.rcode = .badVers
        for message in [Fixtures.query, withOptions, Fixtures.badVers, Fixtures.awkwardNames, Fixtures.fullResponse] {
            let bytes = message.serialized()
            guard case .success(let view) = scan(bytes) else { return XCTFail("scan failed for \(message)") }
            let question = message.questions[0]
            XCTAssertEqual(view.id, message.header.id)
            XCTAssertEqual(view.flags, message.header.flags(rcodeBits: message.rcode.headerBits))
            XCTAssertEqual(view.questionCount, 1)
            XCTAssertEqual(Array(bytes[view.nameStart..<view.nameEnd]), question.name.wire)
            XCTAssertEqual(view.type, question.type)
            XCTAssertEqual(view.qclass, question.qclass)
            XCTAssertEqual(view.questionEnd, view.nameEnd + 4)
            XCTAssertEqual(view.opcode, message.header.opcode)
            XCTAssertEqual(view.recursionDesired, message.header.recursionDesired)
            guard let edns = message.edns else {
                XCTAssertNil(view.edns)
                continue
            }
            XCTAssertEqual(view.edns?.udpPayloadSize, edns.udpPayloadSize)
            XCTAssertEqual(view.edns?.extendedRCode, message.rcode.extendedBits)
            XCTAssertEqual(view.edns?.version, edns.version)
            XCTAssertEqual(view.edns?.dnssecOK, edns.dnssecOK)
            guard let range = view.edns.map({ $0.optionsStart..<$0.optionsEnd }) else { continue }
            XCTAssertEqual(Array(bytes[range]), Array(bytes.suffix(edns.wireSize - 11)))
        }
    }

    func testOPTOwnedByAPointerToTheRootIsAcceptedByBoth() throws {
        // Question "." at offset 12; the OPT's owner is a pointer (C0 0C) to that root label.
        let bytes: [UInt8] = [
            0x00, 0x07, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
            0x00, 0x00, 0x02, 0x00, 0x01,
            0xC0, 0x0C, 0x00, 0x29, 0x04, 0xD0, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
        ]
        let view = try scan(bytes).get()
        XCTAssertEqual(view.edns?.udpPayloadSize, 1232)
        XCTAssertEqual(view.edns?.dnssecOK, true)
        XCTAssertEqual(try parse(bytes).get().edns?.udpPayloadSize, 1232)
        // A pointer to a non-root name is still refused as an OPT owner, by both.
        var named = bytes
        named.replaceSubrange(12..<13, with: [0x01, 0x61, 0x00])
        XCTAssertEqual(scan(named).failureValue, .badOPT(offset: 19))
        XCTAssertEqual(parse(named).failureValue, .badOPT(offset: 19))
    }

    func testNotExactlyOneQuestion() {
        for count: UInt16 in [0, 2] {
            var builder = WireBuilder(qd: count)
            for _ in 0..<count { builder.question("a.example") }
            guard case .success(let view) = scan(builder.bytes) else { return XCTFail("count \(count)") }
            XCTAssertEqual(view.questionCount, count)
            XCTAssertEqual(view.nameLength, 0)
        }
    }

    /// Framing errors are the parser's errors, offsets included.
    func testSameErrorsAsTheParser() {
        var table: [[UInt8]] = [Array(Fixtures.query.serialized().prefix(5)), Fixtures.query.serialized() + [0]]
        var builder = WireBuilder(qd: 1)
        builder.raw([0xC0, 12, 0, 1, 0, 1])
        table.append(builder.bytes)
        builder = WireBuilder(qd: 1, ar: 2)
        builder.question("a.example")
        builder.record(owner: [0], type: 41, rdata: [])
        builder.record(owner: [0], type: 41, rdata: [])
        table.append(builder.bytes)
        builder = WireBuilder(qd: 1, ar: 1)
        builder.question("a.example")
        builder.record(owner: [0], type: 41, rdata: [0, 10, 0, 4, 1])
        table.append(builder.bytes)
        for bytes in table {
            guard case .failure(let expected) = parse(bytes) else { return XCTFail("parsed \(bytes)") }
            guard case .failure(let error) = scan(bytes) else { return XCTFail("scanned \(bytes)") }
            XCTAssertEqual(error, expected)
        }
    }

    /// Over mutated one-question messages: what the parser accepts the scanner accepts with the same fields,
    /// and (as QueryView documents) what the scanner accepts the parser accepts.
    func testAgreesWithTheParserOnMutations() {
        var generator = SplitMix64(seed: 0x0F1E)
        let seeds = [Fixtures.query.serialized(), Fixtures.badVers.serialized(), Fixtures.fullResponse.serialized()]
        var disagreements: [String] = []
        var mismatched: [String] = []
        for iteration in 0..<5000 {
            var bytes = seeds[iteration % seeds.count]
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let position = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[position] ^= 1 << UInt8.random(in: 0..<8, using: &generator)
            }
            bytes[4] = 0
            bytes[5] = 1
            switch (parse(bytes), scan(bytes)) {
            case (.success(let message), .success(let view)):
                XCTAssertEqual(view.id, message.header.id)
                XCTAssertEqual(Array(bytes[view.nameStart..<view.nameEnd]), message.questions[0].name.wire)
                XCTAssertEqual(view.type, message.questions[0].type)
                XCTAssertEqual(view.edns?.udpPayloadSize, message.edns?.udpPayloadSize)
            case (.success, .failure(let error)):
                XCTFail("scanner rejects (\(error)) what the parser accepts")
            case (.failure(let error), .success):
                disagreements.append("\(error)")
            case (.failure(let expected), .failure(let error)):
                if error != expected { mismatched.append("\(error) vs \(expected)") }
            }
        }
        XCTAssertEqual(disagreements, [], "accepted by QueryView, rejected by Message(parsing:)")
        XCTAssertEqual(mismatched, [], "both reject, with different errors")
    }
}

extension Result {
    fileprivate var failureValue: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
