import XCTest

@testable import DNSWire

/// The allocation-free query scanner must agree with the full parser on framing, and skip what it need not read.
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
                // The scan skips RDATA other than OPT's by its length; only an error inside one may differ.
                if !Self.hasUndecodableRData(bytes) { disagreements.append("\(error)") }
            case (.failure(let expected), .failure(let error)):
                if error != expected && !Self.hasUndecodableRData(bytes) {
                    mismatched.append("\(error) vs \(expected)")
                }
            }
        }
        XCTAssertEqual(disagreements, [], "accepted by QueryView, rejected by Message(parsing:)")
        XCTAssertEqual(mismatched, [], "both reject, with different errors")
    }
}

extension QueryViewTests {
    /// Whether some record other than OPT, among those framed before the scan stops, has RDATA the parser
    /// cannot decode: the scan skips such RDATA by its length, so only then may the two disagree.
    fileprivate static func hasUndecodableRData(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var reader = WireReader(raw, offset: 12)
            let records =
                Int(bytes[6]) << 8 + Int(bytes[7]) + Int(bytes[8]) << 8 + Int(bytes[9])
                + Int(bytes[10]) << 8 + Int(bytes[11])
            do throws(DNSWireError) {
                try reader.skipName()
                try reader.skip(4)
                for _ in 0..<records {
                    try reader.skipName()
                    let type = try reader.readUInt16()
                    try reader.skip(6)
                    let length = Int(try reader.readUInt16())
                    if type != RecordType.opt.rawValue {
                        var inner = reader
                        do throws(DNSWireError) {
                            _ = try inner.readRData(type: RecordType(type), length: length)
                        } catch {
                            return true
                        }
                    }
                    try reader.skip(length)
                }
            } catch {
                return false
            }
            return false
        }
    }

    /// A query packed with records whose RDATA names point at the question costs the scan no name decoding:
    /// RDATA the parser would reject (a pointer outside the packet) is skipped, not read.
    func testRDataOfOtherRecordsIsSkippedNotDecoded() throws {
        var builder = WireBuilder(qd: 1, ar: 300)
        builder.question("backend.app.svc.supercluster.local")
        for _ in 0..<299 { builder.record(owner: [0xC0, 12], type: 5, rdata: [0xC0, 12]) }
        builder.record(owner: [0], type: 5, rdata: [0x40, 0])
        let view = try scan(builder.bytes).get()
        XCTAssertEqual(view.type, .a)
        XCTAssertEqual(parse(builder.bytes).failureValue, .badLabelType(offset: builder.count - 2))
        // Framing is still checked: an RDLENGTH past the end is rejected.
        var cut = builder.bytes
        cut.removeLast()
        XCTAssertNotNil(scan(cut).failureValue)
    }

    /// No name starts inside the header: a question name that points at offset 4 (the counts) is malformed.
    func testAPointerIntoTheHeaderIsRejectedByBoth() {
        for target: UInt8 in [0, 4, 11] {
            var builder = WireBuilder(qd: 1)
            builder.raw([0xC0, target, 0, 1, 0, 1])
            XCTAssertEqual(scan(builder.bytes).failureValue, .badPointer(offset: 12), "C0 \(target)")
            XCTAssertEqual(parse(builder.bytes).failureValue, .badPointer(offset: 12), "C0 \(target)")
        }
    }

    /// RFC 8945 5.1: a TSIG that is not the last record, or not in the additional section, is a FORMERR.
    func testTSIGMustBeTheLastAdditionalRecord() throws {
        let tsig: [UInt8] = TSIGFixture.rdata
        var last = WireBuilder(qd: 1, ar: 2)
        last.question("a.example")
        last.record(owner: [0], type: 41, rrClass: 1232, ttl: 0, rdata: [])
        let start = last.record(owner: TSIGFixture.keyName, type: 250, rrClass: 255, ttl: 0, rdata: tsig).start
        XCTAssertEqual(try scan(last.bytes).get().tsigStart, start)
        XCTAssertNoThrow(try parse(last.bytes).get())

        var notLast = WireBuilder(qd: 1, ar: 2)
        notLast.question("a.example")
        let misplaced = notLast.record(owner: TSIGFixture.keyName, type: 250, rrClass: 255, ttl: 0, rdata: tsig).start
        notLast.record(owner: [0], type: 41, rrClass: 1232, ttl: 0, rdata: [])
        XCTAssertEqual(scan(notLast.bytes).failureValue, .badTSIG(offset: misplaced))
        XCTAssertEqual(parse(notLast.bytes).failureValue, .badTSIG(offset: misplaced))

        var inAnswer = WireBuilder(qd: 1, an: 1)
        inAnswer.question("a.example")
        let answer = inAnswer.record(owner: TSIGFixture.keyName, type: 250, rrClass: 255, ttl: 0, rdata: tsig).start
        XCTAssertEqual(scan(inAnswer.bytes).failureValue, .badTSIG(offset: answer))
        XCTAssertEqual(parse(inAnswer.bytes).failureValue, .badTSIG(offset: answer))
    }

    func testTSIGFieldsAndItsBADKEYRecord() throws {
        var builder = WireBuilder(qd: 1, ar: 1)
        builder.question("a.example")
        let start = builder.record(
            owner: TSIGFixture.keyName, type: 250, rrClass: 255, ttl: 0, rdata: TSIGFixture.rdata
        ).start
        let tsig = try builder.bytes.withUnsafeBytes { raw throws(DNSWireError) in try TSIGRecord(raw, at: start) }
        XCTAssertEqual(tsig.keyName, try DNSName("key.example"))
        XCTAssertEqual(tsig.algorithm, try DNSName("hmac-sha256"))
        XCTAssertEqual(tsig.timeSigned, 0x0000_6789_ABCD)
        XCTAssertEqual(tsig.fudge, 300)
        XCTAssertEqual(tsig.originalID, 0xBEEF)
        let record = tsig.errorRecord(error: TSIGRecord.badKey)
        var reply = WireBuilder(flags: 0x8009, qd: 0, ar: 1)
        reply.raw(record)
        let parsed = try XCTUnwrap(try Message(parsing: reply.bytes).additional.first)
        XCTAssertEqual(parsed.name, tsig.keyName)
        XCTAssertEqual(parsed.rrClass, .any)
        XCTAssertEqual(parsed.ttl, 0)
        // Algorithm, time, fudge 300, MAC size 0, original ID, error 17, other length 0.
        XCTAssertEqual(
            Array(record.suffix(16)), [0, 0, 0x67, 0x89, 0xAB, 0xCD, 1, 0x2C, 0, 0, 0xBE, 0xEF, 0, 17, 0, 0])

        // RDATA that does not fill its length exactly is no TSIG.
        var short = WireBuilder(qd: 1, ar: 1)
        short.question("a.example")
        let bad = short.record(
            owner: TSIGFixture.keyName, type: 250, rrClass: 255, ttl: 0, rdata: Array(TSIGFixture.rdata.dropLast())
        ).start
        XCTAssertThrowsError(
            try short.bytes.withUnsafeBytes { raw throws(DNSWireError) in try TSIGRecord(raw, at: bad) })
    }
}

/// A TSIG record as a signer sends it: key `key.example.`, hmac-sha256, a 32-octet MAC.
enum TSIGFixture {
    static let keyName: [UInt8] = [3] + Array("key".utf8) + [7] + Array("example".utf8) + [0]
    static let rdata: [UInt8] =
        [11] + Array("hmac-sha256".utf8) + [0]
        + [0, 0, 0x67, 0x89, 0xAB, 0xCD, 1, 0x2C, 0, 32] + Array(repeating: 0x5A, count: 32)
        + [0xBE, 0xEF, 0, 0, 0, 0]
}

extension Result {
    fileprivate var failureValue: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
