import DNSWire
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
}
