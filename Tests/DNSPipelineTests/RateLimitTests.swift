import DNSWire
import ServiceRegistry
import Synchronization
import XCTest

@testable import DNSPipeline

/// Response rate limiting (`limits.rrl`, issue: safe on a hostile network): a bucket of responses a second per
/// client network, the slip, and what the pipeline sends in place of a limited answer. Time is a manual clock, so
/// every count here is exact.
final class RateLimitTests: XCTestCase {
    private let clock = ManualClock()

    private func limiter(rate: Int, slip: Int = 0, capacity: Int = 65_536, seed: UInt64 = 1) -> ResponseRateLimiter {
        let clock = self.clock
        return ResponseRateLimiter(
            settings: RateLimitSettings(responsesPerSecond: rate, slip: slip), capacity: capacity,
            clock: { Int64(clock.now) }, seed: seed)
    }

    private func verdicts(_ limiter: ResponseRateLimiter, _ address: String, _ count: Int) -> [RateLimitVerdict] {
        (0..<count).map { _ in limiter.judge(ClientAddress(IPAddress(address)!)) }
    }

    private func sent(_ verdicts: [RateLimitVerdict]) -> Int { verdicts.filter { $0 == .send }.count }

    func testANetworkGetsOneSecondsWorthThenItsRate() {
        let limiter = limiter(rate: 5)
        XCTAssertEqual(verdicts(limiter, "192.0.2.1", 8), [.send, .send, .send, .send, .send, .drop, .drop, .drop])
        clock.advance(0.2)
        XCTAssertEqual(verdicts(limiter, "192.0.2.1", 3), [.send, .drop, .drop], "one response per 1/rate seconds")
        clock.advance(30)
        XCTAssertEqual(sent(verdicts(limiter, "192.0.2.1", 20)), 5, "an idle bucket holds one second's worth, no more")
        XCTAssertEqual(limiter.totals.dropped, 3 + 2 + 15)
        XCTAssertEqual(limiter.totals.slipped, 0)
    }

    func testEverySlipthLimitedResponseIsSlipped() {
        for (slip, expected) in [
            (0, [RateLimitVerdict.drop, .drop, .drop, .drop]), (1, [.slip, .slip, .slip, .slip]),
            (2, [.drop, .slip, .drop, .slip]), (3, [.drop, .drop, .slip, .drop]),
        ] {
            let limiter = limiter(rate: 1, slip: slip)
            XCTAssertEqual(verdicts(limiter, "192.0.2.1", 5), [.send] + expected, "slip \(slip)")
            XCTAssertEqual(limiter.totals.slipped, expected.filter { $0 == .slip }.count, "slip \(slip)")
        }
    }

    /// One bucket per IPv4 /24 and IPv6 /56: a flood spread over a victim's network is still one victim.
    func testABucketCoversAnIPv4Slash24AndAnIPv6Slash56() {
        for (first, sameNetwork, otherNetwork) in [
            ("198.51.100.1", "198.51.100.254", "198.51.101.1"),
            ("2001:db8:0:100::1", "2001:db8:0:1ff:ffff::9", "2001:db8:0:200::1"),
            ("10.0.0.0", "10.0.0.9", "::a00:0"),
        ] {
            let limiter = limiter(rate: 2)
            XCTAssertEqual(sent(verdicts(limiter, first, 1) + verdicts(limiter, sameNetwork, 5)), 2, first)
            XCTAssertEqual(sent(verdicts(limiter, otherNetwork, 5)), 2, "\(otherNetwork) has its own bucket")
        }
    }

    /// The table is fixed; a network not in it takes the fullest slot of its set. Thousands of other networks,
    /// each sending once, can never take the slot of a network being limited, so they cannot reset its bucket.
    func testAFloodOfOtherNetworksCannotResetALimitedBucket() {
        for seed in UInt64(1)...4 {
            let limiter = limiter(rate: 3, capacity: 64, seed: seed)
            XCTAssertEqual(limiter.capacity, 64)
            XCTAssertEqual(sent(verdicts(limiter, "192.0.2.1", 10)), 3)
            for network in 0..<5_000 {
                _ = limiter.judge(.v4(0x0A00_0000 | UInt32(network) << 8))
            }
            XCTAssertEqual(verdicts(limiter, "192.0.2.1", 1), [.drop], "seed \(seed)")
            clock.advance(1 / 3)
            XCTAssertEqual(verdicts(limiter, "192.0.2.1", 2), [.send, .drop], "seed \(seed): the rate, no more")
        }
    }

    /// Listener threads share the table: with the clock stopped, exactly one second's worth is sent however the
    /// threads interleave, and every other response is counted once as dropped or slipped.
    func testThreadsShareOneBucketExactly() {
        let limiter = limiter(rate: 100, slip: 2)
        let sent = Atomic(0)
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for index in 0..<1_000 {
                let address = ClientAddress.v4(0xC000_0200 | UInt32((thread * 1_000 + index) & 0xFF))
                if limiter.judge(address) == .send { sent.wrappingAdd(1, ordering: .relaxed) }
            }
        }
        XCTAssertEqual(sent.load(ordering: .relaxed), 100)
        let totals = limiter.totals
        XCTAssertEqual(totals.dropped + totals.slipped, 3_900)
        XCTAssertEqual(totals.slipped, 1_950)
    }

    // MARK: what the pipeline sends

    private func processor(rate: Int, slip: Int) -> QueryProcessor {
        var settings = PipelineFixture.settings()
        settings.forwardZones = [PipelineFixture.name("cluster.local.")]
        return QueryProcessor(
            snapshot: PipelineFixture.snapshot(settings), rateLimiter: limiter(rate: rate, slip: slip))
    }

    private func ask(
        _ processor: QueryProcessor, _ query: Message, client: ClientContext = .pod
    ) throws -> (QueryOutcome, Message?) {
        var bytes: [UInt8] = []
        let outcome = query.serialized().withUnsafeBytes { processor.process($0, client: client, into: &bytes) }
        guard outcome == .respond else {
            XCTAssertTrue(bytes.isEmpty, "nothing left in the buffer of a \(outcome)")
            return (outcome, nil)
        }
        return (outcome, try Message(parsing: bytes))
    }

    private func query(_ name: String, _ type: RecordType = .a, id: UInt16, edns: Bool = false) -> Message {
        Message(
            header: Header(id: id, recursionDesired: true),
            questions: [Question(name: PipelineFixture.name(name), type: type)],
            edns: edns ? EDNS(udpPayloadSize: 1232) : nil)
    }

    /// A slip is the header and question with TC=1 and no records, RCODE and AA as the answer had them, and a bare
    /// OPT (our payload, DO echoed, no options) when the query had EDNS, so a resolver does not take it for a server
    /// without EDNS: never larger than the query, and a reason for a real client to ask again over TCP.
    func testASlipIsTheHeaderAndQuestionWithTC() throws {
        let processor = processor(rate: 1, slip: 1)
        let (_, full) = try ask(processor, query("backend.app.svc.supercluster.local.", id: 1, edns: true))
        XCTAssertEqual(full?.answers.count, 3, "the first response is within the rate")
        let nsidAndECS = [
            EDNSOption(code: EDNSOption.nsidCode, data: []),
            EDNSOption(code: EDNSOption.clientSubnetCode, data: [0, 1, 24, 0, 10, 244, 3]),
        ]
        let cases: [(String, EDNS?, RCode)] = [
            (
                "backend.app.svc.supercluster.local.", EDNS(udpPayloadSize: 4096, dnssecOK: true, options: nsidAndECS),
                .noError
            ),
            ("nothere.app.global.", EDNS(udpPayloadSize: 1232), .nxDomain),
            ("backend.app.svc.supercluster.local.", nil, .noError),
            ("backend.app.svc.supercluster.local.", EDNS(udpPayloadSize: 1232, version: 1), .badVers),
        ]
        for (name, edns, rcode) in cases {
            var asked = query(name, id: 0xBEEF)
            asked.edns = edns
            let (outcome, slipped) = try ask(processor, asked)
            XCTAssertEqual(outcome, .respond)
            let response = try XCTUnwrap(slipped)
            XCTAssertEqual(response.header.id, 0xBEEF)
            XCTAssertTrue(response.header.isResponse)
            XCTAssertTrue(response.header.truncated)
            XCTAssertEqual(response.header.authoritative, rcode != .badVers, name)
            XCTAssertTrue(response.header.recursionDesired)
            XCTAssertEqual(response.rcode, rcode)
            XCTAssertEqual(response.questions, asked.questions)
            XCTAssertEqual(response.answers.count + response.authority.count + response.additional.count, 0)
            XCTAssertEqual(
                response.edns?.udpPayloadSize, edns.map { _ in 1232 }, "our payload size, as answers give it")
            XCTAssertEqual(response.edns?.dnssecOK, edns?.dnssecOK)
            XCTAssertEqual(response.edns?.options, edns.map { _ in [] })
            XCTAssertLessThanOrEqual(response.serialized().count, asked.serialized().count)
        }
    }

    /// Errors are responses too (a REFUSED or FORMERR can be reflected as well as an answer); one without a
    /// question slips as a header.
    func testErrorsAreLimitedAndAHeaderOnlyResponseSlipsAsAHeader() throws {
        let processor = processor(rate: 1, slip: 1)
        var notify = query("app.svc.supercluster.local.", .soa, id: 0x0A0A).serialized()
        notify[2] = 0x20  // opcode NOTIFY: NOTIMP from the header alone
        notify[5] = 0  // and no question
        var bytes: [UInt8] = []
        for expectTC in [false, true] {
            let outcome = notify.withUnsafeBytes { processor.process($0, client: .pod, into: &bytes) }
            XCTAssertEqual(outcome, .respond)
            XCTAssertEqual(bytes.count, 12)
            XCTAssertEqual(bytes[4...11].map { $0 }, [0, 0, 0, 0, 0, 0, 0, 0], "no question, no records: a header")
            XCTAssertEqual(bytes[2] & 0x02 != 0, expectTC, "TC")
            XCTAssertEqual(bytes[3] & 0x0F, UInt8(RCode.notImp.rawValue))
        }
    }

    /// A forwarded name is judged before anything goes upstream: a limited one is never sent, and its slip is
    /// written from the query (RA as a forwarded answer has it).
    func testALimitedForwardedQueryIsNotSentUpstream() throws {
        let processor = processor(rate: 1, slip: 2)
        let asked = query("kubernetes.default.svc.cluster.local.", id: 0x5150)
        XCTAssertEqual(try ask(processor, asked).0, .forward(ForwardPlan(rule: 0)))
        XCTAssertEqual(try ask(processor, asked).0, .drop)
        let (outcome, slipped) = try ask(processor, asked)
        XCTAssertEqual(outcome, .respond)
        let response = try XCTUnwrap(slipped)
        XCTAssertEqual(response.header.id, 0x5150)
        XCTAssertTrue(response.header.isResponse)
        XCTAssertTrue(response.header.truncated)
        XCTAssertTrue(response.header.recursionDesired)
        XCTAssertTrue(response.header.recursionAvailable)
        XCTAssertFalse(response.header.authoritative)
        XCTAssertEqual(response.rcode, .noError)
        XCTAssertEqual(response.questions, asked.questions)
        XCTAssertEqual(response.answers.count + response.authority.count + response.additional.count, 0)
        XCTAssertNil(response.edns, "no OPT for a query without one")

        var withEDNS = asked
        withEDNS.edns = EDNS(
            udpPayloadSize: 4096, dnssecOK: true, options: [EDNSOption(code: 10, data: [1, 2, 3, 4, 5, 6, 7, 8])])
        XCTAssertEqual(try ask(processor, withEDNS).0, .drop)
        let edns = try XCTUnwrap(try ask(processor, withEDNS).1?.edns, "the OPT of a forwarded query's slip")
        XCTAssertEqual(edns.udpPayloadSize, 1232)
        XCTAssertTrue(edns.dnssecOK)
        XCTAssertEqual(edns.options, [])
    }

    /// TCP proves its source address, so it is never limited; other networks and TCP keep their answers while one
    /// network is limited.
    func testTCPAndOtherNetworksAreNotLimited() throws {
        let processor = processor(rate: 2, slip: 0)
        let asked = query("backend.app.svc.supercluster.local.", id: 3)
        let outcomes = try (0..<5).map { _ in try ask(processor, asked).0 }
        XCTAssertEqual(outcomes, [.respond, .respond, .drop, .drop, .drop])
        XCTAssertEqual(try ask(processor, asked, client: .from("10.244.0.77", .tcp)).1?.answers.count, 3, "TCP")
        XCTAssertEqual(try ask(processor, asked, client: .from("10.244.1.5")).1?.answers.count, 3, "another /24")
        XCTAssertEqual(try ask(processor, asked).0, .drop, "the limited network still is")
    }

    /// Responses the pipeline does not send (a response to a response) take nothing from the bucket.
    func testDroppedQueriesCostNothing() throws {
        let processor = processor(rate: 1, slip: 0)
        var response = query("backend.app.svc.supercluster.local.", id: 4).serialized()
        response[2] |= 0x80
        var bytes: [UInt8] = []
        for _ in 0..<3 {
            XCTAssertEqual(response.withUnsafeBytes { processor.process($0, client: .pod, into: &bytes) }, .drop)
        }
        XCTAssertEqual(try ask(processor, query("backend.app.svc.supercluster.local.", id: 5)).0, .respond)
        XCTAssertEqual(processor.rateLimiter?.totals.dropped, 0)
    }
}
