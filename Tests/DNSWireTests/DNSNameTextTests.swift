import XCTest

@testable import DNSWire

final class DNSNameTextTests: XCTestCase {
    private func labels(_ texts: String...) -> [[UInt8]] { texts.map { Array($0.utf8) } }

    func testParsesPresentationFormat() {
        let table: [(String, [[UInt8]])] = [
            ("www.example.com", labels("www", "example", "com")),
            ("www.example.com.", labels("www", "example", "com")),
            ("Mixed.CASE.", labels("Mixed", "CASE")),
            (".", []),
            ("", []),
            ("*.example", labels("*", "example")),
            ("a\\.b.example", labels("a.b", "example")),
            ("a\\\\b.x", labels("a\\b", "x")),
            ("\\065\\066C.x", labels("ABC", "x")),
            ("\\000\\255.x.", [[0, 255], Array("x".utf8)]),
            ("a\\032b", labels("a b")),
            ("a\\ b", labels("a b")),
            ("\\(\\)\\;\\\"\\@\\$.x", labels("();\"@$", "x")),
            ("\\..", [[0x2E]]),
        ]
        for (text, expected) in table {
            do throws(DNSWireError) {
                let name = try DNSName(text)
                XCTAssertEqual(name.labels, expected, text)
                XCTAssertEqual(name.labelCount, expected.count, text)
            } catch {
                XCTFail("\(text): \(error)")
            }
        }
    }

    func testRejectsMalformedText() {
        let table = [
            "..", "a..b", ".a", "a.b..", "a\\", "a\\1", "a\\12", "a\\256", "a\\999", "a\\1x3",
            String(repeating: "a", count: 64) + ".example",
            String(repeating: "a", count: 64),
        ]
        for text in table {
            XCTAssertThrowsError(try DNSName(text), text) { error in
                XCTAssertEqual(error as? DNSWireError, .badNameText(text))
            }
        }
    }

    func testLabelOf63IsAcceptedAnd64Rejected() throws {
        let label63 = String(repeating: "x", count: 63)
        XCTAssertEqual(try DNSName(label63 + ".example").labels.first?.count, 63)
        XCTAssertThrowsError(try DNSName(label63 + "x.example"))
        // An escape counts as one octet.
        XCTAssertEqual(try DNSName(String(repeating: "\\120", count: 63)).labels, [Array(label63.utf8)])
        XCTAssertThrowsError(try DNSName(String(repeating: "\\120", count: 64)))
    }

    func testNameOf255OctetsIsAcceptedAnd256Rejected() throws {
        let long = [63, 63, 63, 61].map { String(repeating: "n", count: $0) }.joined(separator: ".")
        XCTAssertEqual(try DNSName(long).wire.count, 255)
        XCTAssertEqual(try DNSName(long + ".").wire.count, 255)
        let tooLong = [63, 63, 63, 62].map { String(repeating: "n", count: $0) }.joined(separator: ".")
        XCTAssertThrowsError(try DNSName(tooLong)) { error in
            XCTAssertEqual(error as? DNSWireError, .badNameText(tooLong))
        }
        let manyShort = Array(repeating: "a", count: 127).joined(separator: ".")
        XCTAssertEqual(try DNSName(manyShort).wire.count, 255)
        XCTAssertThrowsError(try DNSName(manyShort + ".b"))
    }

    func testDescriptionEscapes() throws {
        let table: [([[UInt8]], String)] = [
            ([], "."),
            (labels("www", "Example"), "www.Example."),
            (labels("a.b"), "a\\.b."),
            ([[0x20]], "\\032."),
            ([[0x00]], "\\000."),
            ([[0x7F]], "\\127."),
            ([[0xFF]], "\\255."),
            (labels("\"", ";", "(", ")", "@", "$", "\\"), "\\\".\\;.\\(.\\).\\@.\\$.\\\\."),
            (labels("~!#%&*+,-/:<=>?[]^_`{|}"), "~!#%&*+,-/:<=>?[]^_`{|}."),
        ]
        for (labels, expected) in table {
            XCTAssertEqual(try DNSName(labels: labels).description, expected)
        }
    }

    /// Every octet value, in every position of a label, survives description -> parse unchanged.
    func testDescriptionRoundTripsEveryOctet() throws {
        for byte in UInt8.min...UInt8.max {
            let name = try DNSName(labels: [[byte], [0x41, byte, 0x61], Array("x".utf8)])
            let reparsed = try DNSName(name.description)
            XCTAssertTrue(reparsed.isIdentical(to: name), "octet \(byte): \(name.description)")
        }
        for text in ["www.example.com.", ".", "A.b.C.", "\\\\\\..\\@.x."] {
            XCTAssertEqual(try DNSName(text).description, text)
        }
    }
}
