import XCTest

@testable import DNSWire

/// `Message.simpleAnswersWithoutQuestion` writes what `serialized()` writes after the question, for the answers
/// it takes, and declines the rest.
final class SimpleAnswerTests: XCTestCase {
    /// `serialized()` of the same response, less its question.
    func expected(_ answers: [ResourceRecord], additional: [ResourceRecord] = [], question name: DNSName) -> [UInt8] {
        let response = Message(
            header: Header(isResponse: true, authoritative: true), questions: [Question(name: name, type: .a)],
            answers: answers, additional: additional
        ).serialized()
        return Array(response[..<12]) + response[(12 + name.wire.count + 4)...]
    }

    func testSeededAnswersOfAddressesAreWrittenAsSerializedWritesThem() throws {
        var random = SplitMix64(seed: 2026_12_07)
        let names = try ["web.shop.svc.supercluster.local", "C1.Web.SHOP.svc.supercluster.local", "x"].map {
            try DNSName($0)
        }
        for round in 0..<500 {
            let name = names[round % names.count]
            // The owners in another letter case half the time: still a pointer to the question.
            let owner = round % 2 == 0 ? name : try DNSName(name.description.uppercased())
            let answers = (0..<Int.random(in: 0...40, using: &random)).map { _ -> ResourceRecord in
                let ttl = UInt32.random(in: 0...UInt32.max, using: &random)
                let data: RData =
                    Bool.random(using: &random)
                    ? .a(IPv4Address(rawValue: UInt32.random(in: 0...UInt32.max, using: &random)))
                    : .aaaa(IPv6Address(high: random.next(), low: random.next()))
                return ResourceRecord(name: owner, ttl: ttl, data: data)
            }
            let written = try XCTUnwrap(Message.simpleAnswersWithoutQuestion(answers, question: name), "\(answers)")
            XCTAssertEqual(written, expected(answers, question: name), "\(answers)")
        }
    }

    /// One PTR, CNAME or NS record: its target written whole when it ends in another label than the question, as
    /// the compression table writes it; left to `serialized()` when it ends in the same one (it compresses there).
    func testALoneRecordOfANameIsWrittenWholeUnlessItsLastLabelIsTheQuestions() throws {
        var random = SplitMix64(seed: 7)
        let questions = try ["7.0.0.10.in-addr.arpa", "web.shop.svc.supercluster.local", "x"].map { try DNSName($0) }
        let targets = try [
            "c1.web.shop.svc.supercluster.local", "web.shop.svc.clusterset.local", "ARPA", "x.ARPA", "in-addr.arpa.x",
            "LOCAL", "a.b.Local", "X", "y.x", "x.y", ".",
        ].map { try DNSName($0) }
        var written = 0
        for question in questions {
            for target in targets {
                for data in [RData.ptr(target), .cname(target), .ns(target)] {
                    let record = ResourceRecord(
                        name: question, ttl: UInt32.random(in: 0...86400, using: &random), data: data)
                    let sharesLastLabel =
                        !target.isRoot
                        && target.labels.last.map { String(decoding: $0, as: UTF8.self).lowercased() }
                            == question.labels.last.map { String(decoding: $0, as: UTF8.self).lowercased() }
                    let simple = Message.simpleAnswersWithoutQuestion([record], question: question)
                    if sharesLastLabel {
                        XCTAssertNil(simple, "\(record)")
                    } else {
                        XCTAssertEqual(simple, expected([record], question: question), "\(record)")
                        written += 1
                    }
                    // Two of them may compress one against the other: always left to serialized().
                    XCTAssertNil(Message.simpleAnswersWithoutQuestion([record, record], question: question))
                }
            }
        }
        XCTAssertGreaterThan(written, 60)
    }

    /// SRV records whose targets the question's name ends in, with addresses of such names as additional data: a
    /// ClusterSetIP service's SRV answer under any naming tree. Anything else is left to serialized().
    func testSRVRecordsTargetingTheQuestionsOwnSuffixesAreWrittenAsSerializedWritesThem() throws {
        var random = SplitMix64(seed: 2026_12_08)
        let questions = try ["_http._tcp.web.shop.svc.supercluster.local", "_P._TCP.Web.Shop.global", "_a._b.c"].map {
            try DNSName($0)
        }
        let others = try ["web.shop.svc.clusterset.local", "c1.web.shop.global", "shop.web.global", "x.c", "."].map {
            try DNSName($0)
        }
        var written = 0
        var declined = 0
        for round in 0..<600 {
            let question = questions[round % questions.count]
            // The question's own suffixes (itself included, the root not), each in either letter case.
            var suffixes: [DNSName] = []
            var current: DNSName? = question
            while let name = current, !name.isRoot {
                suffixes.append(Bool.random(using: &random) ? name : try DNSName(name.description.uppercased()))
                current = name.parent
            }
            func pick(_ names: [DNSName]) -> DNSName { names[Int.random(in: 0..<names.count, using: &random)] }
            // One round in five strays: a target or an owner the question does not end in.
            let strays = round % 5 == 0
            let answers = (0..<Int.random(in: 1...4, using: &random)).map { index -> ResourceRecord in
                let target = strays && index == 0 && Bool.random(using: &random) ? pick(others) : pick(suffixes)
                let srv = SRVRecord(
                    priority: UInt16.random(in: 0...3, using: &random),
                    weight: UInt16.random(in: 0...100, using: &random),
                    port: UInt16.random(in: 1...65535, using: &random), target: target)
                return ResourceRecord(
                    name: question, ttl: UInt32.random(in: 0...86400, using: &random), data: .srv(srv))
            }
            var owners = [pick(suffixes)]
            if Bool.random(using: &random) { owners.append(pick(suffixes)) }
            if strays { owners.append(pick(others)) }
            let additional = owners.flatMap { owner in
                (0..<Int.random(in: 0...3, using: &random)).map { _ -> ResourceRecord in
                    let data: RData =
                        Bool.random(using: &random)
                        ? .a(IPv4Address(rawValue: UInt32.random(in: 0...UInt32.max, using: &random)))
                        : .aaaa(IPv6Address(high: random.next(), low: random.next()))
                    return ResourceRecord(name: owner, ttl: 5, data: data)
                }
            }
            let simple = Message.simpleAnswersWithoutQuestion(answers, additional: additional, question: question)
            let takes =
                answers.allSatisfy { record in
                    guard case .srv(let srv) = record.data else { return false }
                    return suffixes.contains(srv.target)
                } && additional.allSatisfy { suffixes.contains($0.name) }
            if takes {
                XCTAssertEqual(simple, expected(answers, additional: additional, question: question), "\(answers)")
                written += 1
            } else {
                XCTAssertNil(simple, "\(answers) \(additional)")
                declined += 1
            }
        }
        XCTAssertGreaterThan(written, 400)
        XCTAssertGreaterThan(declined, 30)
        // Additional data beside anything but SRV records, an SRV beside another type, and additional data that is
        // not an address, are left to serialized() too.
        let name = questions[0]
        let target = try DNSName("web.shop.svc.supercluster.local")
        let srv = ResourceRecord(
            name: name, ttl: 5, data: .srv(SRVRecord(priority: 0, weight: 1, port: 80, target: target)))
        let address = ResourceRecord(name: target, ttl: 5, data: .a(IPv4Address(rawValue: 0x0A00_0001)))
        let ownAddress = ResourceRecord(name: name, ttl: 5, data: address.data)
        XCTAssertNil(Message.simpleAnswersWithoutQuestion([ownAddress], additional: [address], question: name))
        XCTAssertNil(Message.simpleAnswersWithoutQuestion([], additional: [address], question: name))
        XCTAssertNil(Message.simpleAnswersWithoutQuestion([srv, ownAddress], question: name))
        XCTAssertNil(
            Message.simpleAnswersWithoutQuestion(
                [srv], additional: [ResourceRecord(name: target, ttl: 5, data: .txt("x"))], question: name))
        XCTAssertEqual(
            Message.simpleAnswersWithoutQuestion([srv], additional: [address], question: name),
            expected([srv], additional: [address], question: name))
    }

    func testAnythingButAddressesOwnedByTheQuestionIsLeftToSerialized() throws {
        let name = try DNSName("web.shop.svc.supercluster.local")
        let address = ResourceRecord(name: name, ttl: 5, data: .a(IPv4Address(rawValue: 0x0A00_0001)))
        let declined: [(String, ResourceRecord)] = [
            ("another owner", ResourceRecord(name: try DNSName("c1.\(name)"), ttl: 5, data: address.data)),
            ("a CNAME beside", ResourceRecord(name: name, ttl: 5, data: .cname(try DNSName("elsewhere.example")))),
            ("a TXT", ResourceRecord(name: name, ttl: 5, data: .txt("1.0.0"))),
            (
                "an SRV",
                ResourceRecord(
                    name: name, ttl: 5, data: .srv(SRVRecord(priority: 0, weight: 1, port: 80, target: name)))
            ),
        ]
        let root = ResourceRecord(name: .root, ttl: 5, data: address.data)
        XCTAssertNil(Message.simpleAnswersWithoutQuestion([root], question: .root), "the root is never a pointer")
        for (what, record) in declined {
            XCTAssertNil(Message.simpleAnswersWithoutQuestion([address, record], question: name), what)
        }
        // One octet short of 65,535 with the question, and one over: serialized() truncates the second.
        let fits = (65535 - 12 - (name.wire.count + 4)) / 16
        let most = Array(repeating: address, count: fits)
        XCTAssertEqual(Message.simpleAnswersWithoutQuestion(most, question: name), expected(most, question: name))
        XCTAssertNil(Message.simpleAnswersWithoutQuestion(most + [address], question: name))
        XCTAssertEqual(
            Array(Message(questions: [Question(name: name, type: .a)], answers: most + [address]).serialized()[2...2])
                .map { $0 & 0x02 }, [0x02], "serialized() sets TC there")
    }
}
