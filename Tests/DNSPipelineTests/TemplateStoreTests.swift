import DNSWire
import ServiceRegistry
import XCTest

@testable import DNSPipeline

/// A template is kept without its question: the writer puts the query's in its place. The responses written
/// from templates are held to by the rest of the suite (every answer, rotated, truncated, in any letter case).
final class TemplateStoreTests: XCTestCase {
    func testATemplateKeepsTheHeaderAndWhatFollowsTheQuestionOnly() throws {
        let name = try DNSName("a-rather-long-service-name.namespace.svc.supercluster.local")
        let message = Message(
            header: Header(id: 0, isResponse: true, authoritative: true),
            questions: [Question(name: name, type: .a)],
            answers: [
                ResourceRecord(name: name, ttl: 5, data: .a(IPv4Address(bytes: [10, 0, 0, 1])!)),
                ResourceRecord(name: name, ttl: 5, data: .a(IPv4Address(bytes: [10, 0, 0, 2])!)),
            ])
        let response = message.serialized()
        let questionEnd = 12 + name.wire.count + 4
        var store = TemplateStore()
        let index = store.append(template: TemplateStore.template(ofResponse: response))
        store.withTemplate(Int(index)) { stored in
            XCTAssertEqual(Array(stored), Array(response[..<12]) + Array(response[questionEnd...]))
        }
        XCTAssertEqual(
            store.byteCounts.responses, response.count - (questionEnd - 12),
            "the store holds no copy of the question")
    }

    /// A name with one RRset and no additional data answers ANY with its type's bytes, and a node's variants often
    /// coincide: each such template is stored once, in a snapshot built from scratch and in one that copies the
    /// node from its previous snapshot.
    func testEqualTemplatesOfANameAreStoredOnce() throws {
        let settings = LocalityFixture.settings(clients: [("10.245.0.0/16", LocalityFixture.b)])
        let services = PipelineFixture.services
        let registry = PipelineFixture.registry(services, version: 1)
        let full = AnswerSnapshot.build(registry: registry, zones: [PipelineFixture.zone], settings: settings)
        let copied = AnswerSnapshot.build(
            registry: PipelineFixture.registry(services, version: 2), zones: [PipelineFixture.zone],
            settings: settings, previous: full)
        XCTAssertGreaterThan(copied.reusedNames, 0, "the second build copies nodes")
        for snapshot in [full, copied] {
            var shared = 0
            var perNode: [Set<Int32>] = []
            var answerSets = Set<Int32>()
            for node in snapshot.nodes {
                // A name under a later naming tree sharing an earlier one's answers uses the same templates.
                guard node.typeCount == 0 || answerSets.insert(node.firstType).inserted else { continue }
                var indices = Set<Int32>()
                let entries = Int(node.firstType)..<(Int(node.firstType) + Int(node.typeCount))
                for entry in entries {
                    indices.insert(snapshot.types.templates[entry])
                    let variant = snapshot.types.variants[entry]
                    guard variant >= 0 else { continue }
                    for locality in Int(variant)..<(Int(variant) + snapshot.types.localityCount) {
                        indices.insert(snapshot.types.variantTemplates[locality])
                        let choice = snapshot.types.variantChoices[locality]
                        if choice >= 0 { indices.formUnion(snapshot.types.choices.options(choice).map(\.template)) }
                    }
                }
                indices.formUnion([node.anyTemplate, node.fallbackTemplate])
                indices.remove(-1)
                // ANY of a name with one plain RRset: the same template as its type's.
                if node.typeCount == 1, snapshot.types.variants[entries.lowerBound] < 0,
                    snapshot.templates.template(
                        node.anyTemplate, equals: bytes(snapshot, snapshot.types.templates[entries.lowerBound]))
                {
                    XCTAssertEqual(node.anyTemplate, snapshot.types.templates[entries.lowerBound])
                    shared += 1
                }
                // No two templates a node uses hold the same bytes (compared within the last 64 it made, so a node
                // with more could repeat one; this fixture has none so large).
                let contents = indices.map { bytes(snapshot, $0) }
                XCTAssertLessThanOrEqual(contents.count, 64)
                XCTAssertEqual(Set(contents).count, contents.count, "a node's templates are distinct")
                perNode.append(indices)
            }
            XCTAssertGreaterThan(shared, 10, "names answer ANY with their one RRset's template")
            XCTAssertEqual(
                perNode.reduce(0) { $0 + $1.count }, snapshot.templates.count,
                "every template stored is used by one node (or nodes sharing answers), once")
        }
    }

    /// Equal templates of different names (a headless service's cluster name and host name when the cluster has
    /// one endpoint; a service's own name under each naming tree where it is compiled under each, gathered with
    /// zone data or too long for one tree) keep one copy of their bytes: in a snapshot built from scratch on one
    /// thread, on several in runs merged in order, and in one that copies its nodes from the one before.
    func testEqualTemplatesOfDifferentNamesShareTheirBytes() throws {
        let settings = LocalityFixture.settings(clients: [("10.245.0.0/16", LocalityFixture.b)])
        XCTAssertEqual(AnswerCompiler.namingTrees(settings).count, 3, "each service is named under three trees")
        let services = PipelineFixture.services
        func compile(version: UInt64, threads: Int, previous: AnswerSnapshot? = nil) -> AnswerSnapshot {
            var compiler = AnswerCompiler(
                registry: PipelineFixture.registry(services, version: version), zoneFiles: [PipelineFixture.zone],
                settings: settings, previous: previous)
            compiler.threads = threads
            compiler.parallelMinimum = 1
            compiler.runLength = 3
            return compiler.compile()
        }
        let full = compile(version: 1, threads: 1)
        let parallel = compile(version: 1, threads: 2)
        let copied = compile(version: 2, threads: 1, previous: full)
        XCTAssertGreaterThan(copied.reusedNames, 0, "the third build copies nodes")
        for (snapshot, what) in [(full, "one thread"), (parallel, "runs merged"), (copied, "nodes copied")] {
            let all = (0..<snapshot.templates.count).map { bytes(snapshot, Int32($0)) }
            let distinct = Set(all)
            XCTAssertGreaterThan(all.count - distinct.count, 5, "\(what): templates repeat another")
            XCTAssertEqual(
                snapshot.templates.byteCounts.responses, distinct.reduce(0) { $0 + $1.count },
                "\(what): each distinct template's bytes are stored once")
        }
    }

    /// A sharing store's index through many doublings (it starts at 1,024 slots): thousands of distinct
    /// templates of many lengths, repeats of some, and templates that are a prefix of another or differ in their
    /// last octet only. Each index reads back its own bytes, and the bytes stored are the distinct ones once.
    func testASharingStoreKeepsEachTemplateThroughItsGrowth() {
        let header: [UInt8] = [0, 0, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0]
        func template(_ number: Int, padding: Int = 0) -> [UInt8] {
            header + withUnsafeBytes(of: UInt32(number).bigEndian) { Array($0) }
                + [UInt8](repeating: 7, count: number % 13 + padding)
        }
        var stored: [[UInt8]] = []
        for number in 0..<3_000 { stored.append(template(number)) }
        for number in stride(from: 0, to: 3_000, by: 7) { stored.append(template(number)) }
        for number in 0..<50 {
            stored.append(template(number, padding: 1))
            stored.append(template(number) + [8])
        }
        var sharing = TemplateStore(sharingBytes: true)
        var plain = TemplateStore()
        for (index, bytes) in stored.enumerated() {
            XCTAssertEqual(sharing.append(template: bytes), Int32(index))
            _ = plain.append(template: bytes)
        }
        for (index, bytes) in stored.enumerated() {
            sharing.withTemplate(index) { XCTAssertEqual(Array($0), bytes, "template \(index)") }
        }
        XCTAssertEqual(sharing.byteCounts.responses, Set(stored).reduce(0) { $0 + $1.count })
        XCTAssertEqual(plain.byteCounts.responses, stored.reduce(0) { $0 + $1.count }, "a plain store keeps repeats")
    }

    private func bytes(_ snapshot: AnswerSnapshot, _ index: Int32) -> [UInt8] {
        snapshot.templates.withTemplate(Int(index)) { Array($0) }
    }
}
