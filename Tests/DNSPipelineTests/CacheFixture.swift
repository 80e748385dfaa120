import DNSPipeline
import DNSWire
import Synchronization
import XCTest

/// A clock the test moves by hand, in the nanoseconds `ResponseCache(settings:clock:)` reads.
final class ManualClock: Sendable {
    private let nanoseconds = Atomic<UInt64>(7_000_000_000)

    var now: UInt64 { nanoseconds.load(ordering: .relaxed) }

    func advance(_ seconds: Double) {
        nanoseconds.add(UInt64((seconds * 1e9).rounded()), ordering: .relaxed)
    }
}

/// The pipeline with `forward: cluster.local` and a cache on a manual clock: answers are stored as the upstream
/// client stores them (the upstream's `Message` against the client's query bytes) and asked for through
/// `process`, as the listeners ask.
struct CacheHarness {
    static let snapshot: AnswerSnapshot = {
        var settings = PipelineFixture.settings()
        settings.forwardZones = [PipelineFixture.name("cluster.local.")]
        return PipelineFixture.snapshot(settings)
    }()

    let clock: ManualClock
    let cache: ResponseCache
    let processor: QueryProcessor

    init(_ settings: CacheSettings = CacheSettings(capacity: 64, serveStale: 60)) {
        let clock = ManualClock()
        self.init(cache: ResponseCache(settings: settings, clock: { clock.now }), clock: clock)
    }

    /// A harness around a cache made by the caller on `clock`.
    init(cache: ResponseCache, clock: ManualClock) {
        self.cache = cache
        self.clock = clock
        processor = QueryProcessor(snapshot: Self.snapshot, cache: cache)
    }

    @discardableResult
    func store(_ answer: Message, for query: Message) -> Bool {
        cache.store(answer, for: query.serialized())
    }

    /// What the pipeline does with `query`, with the parsed response when it answered.
    func ask(
        _ query: Message, client: ClientContext = .pod, file: StaticString = #filePath, line: UInt = #line
    ) -> (outcome: QueryOutcome, response: Message?) {
        var bytes: [UInt8] = []
        let outcome = query.serialized().withUnsafeBytes { processor.process($0, client: client, into: &bytes) }
        guard outcome == .respond else { return (outcome, nil) }
        do {
            return (outcome, try Message(parsing: bytes))
        } catch {
            XCTFail("unparsable response: \(error)", file: file, line: line)
            return (outcome, nil)
        }
    }

    /// The cached response, failing the test on a miss.
    func hit(
        _ query: Message, client: ClientContext = .pod, file: StaticString = #filePath, line: UInt = #line
    ) -> Message? {
        let (outcome, response) = ask(query, client: client, file: file, line: line)
        XCTAssertEqual(outcome, .respond, "a cache hit expected", file: file, line: line)
        return response
    }

    /// True when the query goes to the upstream: nothing fresh is cached for it.
    func misses(_ query: Message) -> Bool {
        ask(query).outcome == .forward(ForwardPlan(rule: 0))
    }

    /// The stale answer the upstream client would send when every upstream failed.
    func stale(_ query: Message, client: ClientContext = .pod) -> Message? {
        processor.staleResponse(query.serialized(), client: client).flatMap { try? Message(parsing: $0) }
    }
}

/// Queries under cluster.local and the answers an upstream (the cluster's CoreDNS) gives to them.
enum Upstream {
    static let kubernetes = "kubernetes.default.svc.cluster.local."

    static func query(
        _ name: String = kubernetes, _ type: RecordType = .a, id: UInt16 = 0x4B1D, edns: EDNS? = nil,
        checkingDisabled: Bool = false
    ) -> Message {
        Message(
            header: Header(id: id, recursionDesired: true, checkingDisabled: checkingDisabled),
            questions: [Question(name: PipelineFixture.name(name), type: type)], edns: edns)
    }

    /// The upstream's reply to our query for `query`: its own ID, the question as asked, AA and our EDNS back.
    static func answer(
        to query: Message, rcode: RCode = .noError, answers: [ResourceRecord] = [],
        authority: [ResourceRecord] = [], additional: [ResourceRecord] = [], truncated: Bool = false
    ) -> Message {
        Message(
            header: Header(
                id: 0x7777, isResponse: true, authoritative: true, truncated: truncated, recursionDesired: true,
                checkingDisabled: query.header.checkingDisabled),
            rcode: rcode, questions: query.questions, answers: answers, authority: authority,
            additional: additional, edns: EDNS(udpPayloadSize: 1232, dnssecOK: query.edns?.dnssecOK ?? false))
    }

    static func a(_ name: String = kubernetes, ttl: UInt32, _ address: UInt32 = 0x0A60_0001) -> ResourceRecord {
        ResourceRecord(name: PipelineFixture.name(name), ttl: ttl, data: .a(IPv4Address(rawValue: address)))
    }

    /// cluster.local's SOA as CoreDNS's kubernetes plugin writes it, with the TTL and MINIMUM a case needs.
    static func soa(ttl: UInt32, minimum: UInt32) -> ResourceRecord {
        ResourceRecord(
            name: PipelineFixture.name("cluster.local."), ttl: ttl,
            data: .soa(
                SOARecord(
                    primary: PipelineFixture.name("ns.dns.cluster.local."),
                    mailbox: PipelineFixture.name("hostmaster.cluster.local."), serial: 1, refresh: 7200,
                    retry: 1800, expire: 86400, minimum: minimum)))
    }
}

extension Message {
    /// Every record's TTL, section by section.
    var ttls: [UInt32] { (answers + authority + additional).map(\.ttl) }
}
