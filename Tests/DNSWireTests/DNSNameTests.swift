import XCTest

@testable import DNSWire

final class DNSNameTests: XCTestCase {
    func testBuildingFromLabelsEnforcesLimits() {
        let label = { (count: Int) in [UInt8](repeating: 0x61, count: count) }
        XCTAssertEqual(try DNSName(labels: [label(63)]).wire.count, 65)
        XCTAssertEqual(try DNSName(labels: [label(63), label(63), label(63), label(61)]).wire.count, 255)
        let table: [([[UInt8]], DNSWireError)] = [
            ([label(64)], .labelTooLong(offset: 0)),
            ([label(1), label(64)], .labelTooLong(offset: 2)),
            ([[]], .labelTooLong(offset: 0)),
            ([label(3), []], .labelTooLong(offset: 4)),
            ([label(63), label(63), label(63), label(62)], .nameTooLong(offset: 0)),
        ]
        for (labels, expected) in table {
            XCTAssertThrowsError(try DNSName(labels: labels)) { error in
                XCTAssertEqual(error as? DNSWireError, expected)
            }
        }
    }

    func testValidatingWireForm() {
        XCTAssertEqual(try DNSName(wire: [1, 0x61, 0]).description, "a.")
        XCTAssertTrue(try DNSName(wire: [0]).isRoot)
        let table: [([UInt8], DNSWireError)] = [
            ([], .truncated(offset: 0)),
            ([1, 0x61], .truncated(offset: 2)),
            ([0x40] + [UInt8](repeating: 0x61, count: 64) + [0], .labelTooLong(offset: 0)),
            ([0xC0, 0x00], .labelTooLong(offset: 0)),
            ([0, 0], .trailingBytes(offset: 1)),
            (
                Array(repeating: [63] + [UInt8](repeating: 0x61, count: 63), count: 4).flatMap { $0 } + [0],
                .nameTooLong(offset: 0)
            ),
        ]
        for (bytes, expected) in table {
            XCTAssertThrowsError(try DNSName(wire: bytes)) { error in
                XCTAssertEqual(error as? DNSWireError, expected, "\(bytes.prefix(4))")
            }
        }
    }

    func testIsSubdomain() {
        let table: [(String, String, Bool)] = [
            ("www.example.com", "example.com", true),
            ("example.com", "example.com", true),
            ("WWW.EXAMPLE.com", "example.COM", true),
            ("a.b.c.example.com", "c.example.com", true),
            ("www.example.com", ".", true),
            (".", ".", true),
            (".", "com", false),
            ("example.com", "www.example.com", false),
            ("wwwexample.com", "example.com", false),
            ("www.xample.com", "example.com", false),
            ("example.com.au", "example.com", false),
            ("x.a\\.example", "example", false),
            ("x.a\\.example", "a\\.example", true),
            ("a.example", "a\\.example", false),
        ]
        for (child, ancestor, expected) in table {
            XCTAssertEqual(dn(child).isSubdomain(of: dn(ancestor)), expected, "\(child) under \(ancestor)")
        }
    }

    func testParentChain() {
        var name: DNSName? = dn("www.Example.com")
        var seen: [String] = []
        while let current = name {
            seen.append(current.description)
            name = current.parent
        }
        XCTAssertEqual(seen, ["www.Example.com.", "Example.com.", "com.", "."])
        XCTAssertNil(DNSName.root.parent)
    }

    func testPrepending() throws {
        XCTAssertEqual(try DNSName.root.prepending("com").description, "com.")
        XCTAssertTrue(try dn("example.com").prepending("WWW").isIdentical(to: dn("WWW.example.com")))
        XCTAssertEqual(try dn("x").prepending([0x2E, 0x00]).description, "\\.\\000.x.")
        let base253 = dn([63, 63, 63, 59].map { String(repeating: "p", count: $0) }.joined(separator: "."))
        XCTAssertEqual(try base253.prepending("a").wire.count, 255)
        let table: [(DNSName, [UInt8], DNSWireError)] = [
            (dn("example"), [], .labelTooLong(offset: 0)),
            (dn("example"), [UInt8](repeating: 0x61, count: 64), .labelTooLong(offset: 0)),
            (base253, [0x61, 0x62], .nameTooLong(offset: 0)),
        ]
        for (base, label, expected) in table {
            XCTAssertThrowsError(try base.prepending(label)) { error in
                XCTAssertEqual(error as? DNSWireError, expected)
            }
        }
    }

    /// The word-at-a-time capital test against the octet-by-octet one: every octet value at every position of
    /// names long and short (whole words, a tail), among octets next to the capitals' range on both sides.
    func testCapitalsAreFoundEightOctetsAtATime() {
        let neighbours: [UInt8] = [0x00, 0x2D, 0x40, 0x5B, 0x60, 0x61, 0x7A, 0x7B, 0x7F, 0x80, 0xC1, 0xDA, 0xFF]
        for length in [1, 7, 8, 9, 16, 23] {
            for position in 0..<length {
                for octet in 0...UInt8.max {
                    var octets = (0..<length).map { neighbours[$0 % neighbours.count] }
                    octets[position] = octet
                    XCTAssertEqual(
                        DNSName.hasCapital(octets), octets.contains { $0 &- 0x41 < 26 },
                        "octet \(octet) at \(position) of \(length)")
                }
            }
        }
        XCTAssertFalse(DNSName.hasCapital([]))
    }

    func testEqualityAndHashIgnoreASCIICaseOnly() {
        let variants = ["www.example.com", "WWW.EXAMPLE.COM", "wWw.ExAmPlE.cOm"].map(dn)
        for variant in variants {
            XCTAssertEqual(variant, variants[0])
            XCTAssertEqual(variant.hashValue, variants[0].hashValue)
            XCTAssertEqual(variant.lowercased().wire, variants[0].wire)
        }
        XCTAssertEqual(Set(variants).count, 1)
        XCTAssertFalse(variants[1].isIdentical(to: variants[0]))
        // Only A-Z fold: "[" (0x5B) and "{" (0x7B), "@" (0x40) and "`" (0x60), Latin-1 letters stay distinct.
        XCTAssertNotEqual(dn("\\091"), dn("\\123"))
        XCTAssertNotEqual(dn("\\064"), dn("\\096"))
        XCTAssertNotEqual(dn("\\196"), dn("\\228"))
        XCTAssertNotEqual(dn("example.com"), dn("example.com.au"))
    }

    /// RFC 4034 6.1's example, already in canonical order.
    static let canonicalOrder = [
        "example", "a.example", "yljkjljk.a.example", "Z.a.example", "zABC.a.EXAMPLE", "z.example",
        "\\001.z.example", "*.z.example", "\\200.z.example",
    ]

    /// Equality compares eight octets at a time until a word differs, then octet by octet ignoring case: it must
    /// agree with the plain definition wherever the difference falls (first word, a later one, the short tail),
    /// whatever the case and whether the names are equal, differ by case only, or differ.
    func testEqualityAgreesWithComparingLowerCasedOctetsAtEveryPosition() throws {
        var random = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789-".utf8) + [0x40, 0x5B, 0x60, 0x7B, 0xC1, 0xE1]
        func lowered(_ wire: [UInt8]) -> [UInt8] { wire.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 } }
        for _ in 0..<3_000 {
            let labels = (0..<Int.random(in: 1...5, using: &random)).map { _ in
                (0..<Int.random(in: 1...20, using: &random)).map { _ in alphabet.randomElement(using: &random)! }
            }
            let name = try DNSName(labels: labels)
            var other = name.wire
            // Change one octet that is not a length: its case (a letter), or to another octet.
            var positions: [Int] = []
            var offset = 0
            for label in labels {
                positions += (offset + 1)...(offset + label.count)
                offset += label.count + 1
            }
            let position = positions.randomElement(using: &random)!
            switch Int.random(in: 0..<3, using: &random) {
            case 0: break
            case 1: other[position] ^= (other[position] | 0x20) >= 0x61 && (other[position] | 0x20) <= 0x7A ? 0x20 : 0
            default: other[position] = alphabet.randomElement(using: &random)!
            }
            let changed = try DNSName(wire: other)
            XCTAssertEqual(name == changed, lowered(name.wire) == lowered(other), "\(name) against \(changed)")
            XCTAssertEqual(changed == name, name == changed)
            if name == changed { XCTAssertEqual(name.hashValue, changed.hashValue) }
        }
    }

    func testCanonicalOrdering() {
        let names = Self.canonicalOrder.map(dn)
        for (lower, higher) in zip(names, names.dropFirst()) {
            XCTAssertLessThan(lower, higher)
            XCTAssertFalse(higher < lower, "\(higher) < \(lower)")
        }
        var generator = SplitMix64(seed: 4034)
        for _ in 0..<20 {
            let sorted = names.shuffled(using: &generator).sorted()
            XCTAssertEqual(sorted.map(\.description), names.map(\.description))
        }
        XCTAssertLessThan(DNSName.root, dn("example"))
        XCTAssertFalse(dn("Z.a.example") < dn("z.A.EXAMPLE"))
        XCTAssertFalse(dn("z.A.EXAMPLE") < dn("Z.a.example"))
    }

    func testReplacingAnAncestor() throws {
        let base = try DNSName("svc.SuperCluster.local")
        let global = try DNSName("global")
        let name = try DNSName("Web.Shop.svc.supercluster.local")
        let moved = try XCTUnwrap(name.replacingAncestor(base, with: global))
        XCTAssertTrue(moved.isIdentical(to: try DNSName("Web.Shop.global")), "the labels below keep their case")
        XCTAssertTrue(try XCTUnwrap(base.replacingAncestor(base, with: global)).isIdentical(to: global))
        XCTAssertTrue(
            try XCTUnwrap(name.replacingAncestor(base, with: .root)).isIdentical(to: try DNSName("Web.Shop")))
        XCTAssertNil(try DNSName("web.shop.global").replacingAncestor(base, with: global), "not below it")
        XCTAssertNil(try DNSName("xsvc.supercluster.local").replacingAncestor(base, with: global))
        // 240 octets below the ancestor: 248 under global, 255 under a 15-octet replacement, 256 under a 16-octet one.
        let label = String(repeating: "a", count: 59)
        let long = try DNSName([label, label, label, label].joined(separator: ".") + ".global")
        XCTAssertEqual(long.wire.count, 248)
        XCTAssertNotNil(long.replacingAncestor(global, with: try DNSName("thirteen-char")))
        XCTAssertNil(long.replacingAncestor(global, with: try DNSName("fourteen-chars")), "over 255 octets")
    }
}
