import XCTest

@testable import DNSPipeline

/// The word-at-a-time lookup must agree with the plain per-octet definition of DNS case-insensitivity.
final class NameTableTests: XCTestCase {
    func testSWARLowercasingMatchesPerOctetLowercasingForEveryOctetInEveryPosition() {
        for byte in 0...255 {
            for position in 0..<8 {
                // Surround the octet with uppercase letters and high octets so carries would show.
                var octets: [UInt8] = [0x5A, 0xC1, 0x41, 0x7F, 0x40, 0x5B, 0xFF, 0x61]
                octets[position] = UInt8(byte)
                let word = octets.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
                let expected = octets.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
                    .enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
                XCTAssertEqual(NameTable.lowercased(word), expected, "octet \(byte) at \(position)")
            }
        }
    }

    func testLookupIgnoresCaseAndLengthAndFindsEveryKey() {
        var names: [[UInt8]] = []
        for length in 1...40 {
            // Lengths around every word boundary, so tails of 0...7 octets are all exercised.
            names.append([UInt8(length)] + (0..<length).map { UInt8(0x61 + ($0 % 26)) } + [0])
        }
        var table = NameTable(capacity: names.count)
        for (index, name) in names.enumerated() { table.insert(name, value: index) }
        for (index, name) in names.enumerated() {
            let upper = name.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }
            XCTAssertEqual(name.withUnsafeBytes { table.lookup($0) }, index)
            XCTAssertEqual(upper.withUnsafeBytes { table.lookup($0) }, index)
            var changed = name
            changed[changed.count - 2] ^= 0x01  // one letter differs
            XCTAssertNil(changed.withUnsafeBytes { table.lookup($0) })
        }
        XCTAssertNil([UInt8]().withUnsafeBytes { table.lookup($0) })
    }

    /// A table doubled as it fills finds every name, and has each in the slot a table made at its final size
    /// would: the same slot for the same name, whatever the growth.
    func testADoubledTableIsTheTableMadeAtItsSize() {
        let names: [[UInt8]] = (0..<1_000).map {
            [3] + Array("n\($0 % 10)\($0 / 10 % 10)".utf8) + [4] + Array("z\($0 / 100)zz".utf8) + [0]
        }
        // Grown as a build grows its table (`insertGrowing`, doubling when full).
        var grown = NameTable(capacity: 1)
        for (index, name) in names.enumerated() { grown.insertGrowing(name, value: index) }
        var made = NameTable(capacity: names.count)
        for (index, name) in names.enumerated() { made.insert(name, value: index) }
        XCTAssertEqual(grown.count, names.count)
        XCTAssertEqual(grown.capacity, made.capacity)
        XCTAssertEqual(grown.slotsByValue(count: names.count), made.slotsByValue(count: names.count))
        for (index, name) in names.enumerated() {
            XCTAssertEqual(name.withUnsafeBytes { grown.lookup($0) }, index)
        }
    }

    /// The same with names of every shape the keys' walk in `doubled()` must step over: the root, lengths that are
    /// and are not whole words (8, 16, 255 octets), capitals, a label holding a zero octet.
    func testADoubledTableOfNamesOfEveryShapeIsTheTableMadeAtItsSize() {
        var names: [[UInt8]] = [[0], [6] + Array("abcdef".utf8) + [0], [14] + Array("abcdefghijklmn".utf8) + [0]]
        names.append(
            [63] + [UInt8](repeating: 0x61, count: 63) + [63] + [UInt8](repeating: 0x62, count: 63) + [63]
                + [UInt8](repeating: 0x63, count: 63) + [61] + [UInt8](repeating: 0x64, count: 61) + [0])
        names.append([3, 0x61, 0, 0x62, 0])
        for length in 1...40 { names.append([UInt8(length)] + (0..<length).map { UInt8(0x41 + $0 % 26) } + [0]) }
        for index in 0..<200 {
            let label = Array((String(repeating: "y", count: index % 9) + "x\(index)").utf8)
            names.append([UInt8(label.count)] + label + [0])
        }
        // Each name once, letter case aside (the table's keys are lower-cased).
        func lowered(_ name: [UInt8]) -> [UInt8] { name.map { $0 &- 0x41 < 26 ? $0 | 0x20 : $0 } }
        var seen = Set<[UInt8]>()
        names = names.filter { seen.insert(lowered($0)).inserted }
        XCTAssertEqual(names[3].count, 255)
        var grown = NameTable(capacity: 1)
        for (index, name) in names.enumerated() {
            if index == grown.capacity { grown = grown.doubled() }
            grown.insert(name, value: index)
        }
        var made = NameTable(capacity: names.count)
        for (index, name) in names.enumerated() { made.insert(name, value: index) }
        XCTAssertEqual(grown.capacity, made.capacity)
        XCTAssertEqual(grown.slotsByValue(count: names.count), made.slotsByValue(count: names.count))
        for (index, name) in names.enumerated() {
            XCTAssertEqual(name.withUnsafeBytes { grown.lookup($0) }, index, "\(name)")
        }
    }

    /// A query's name is a slice of the packet: whatever lies before and after it (here 0xFF, which no name
    /// holds) must not reach the hash or the comparison, for a name of any length.
    func testLookupReadsOnlyTheNameInsideALargerPacket() {
        var names: [[UInt8]] = []
        for length in 1...40 { names.append([UInt8(length)] + (0..<length).map { UInt8(0x41 + ($0 % 26)) } + [0]) }
        var table = NameTable(capacity: names.count)
        for (index, name) in names.enumerated() { table.insert(name, value: index) }
        for (index, name) in names.enumerated() {
            let packet = [UInt8](repeating: 0xFF, count: 12) + name + [UInt8](repeating: 0xFF, count: 12)
            let found = packet.withUnsafeBytes {
                table.lookup(UnsafeRawBufferPointer(rebasing: $0[12..<(12 + name.count)]))
            }
            XCTAssertEqual(found, index, "length \(name.count)")
        }
        XCTAssertNil([UInt8](repeating: 1, count: 256).withUnsafeBytes { table.lookup($0) }, "longer than any name")
    }

    func testLengthSet() {
        var set = LengthSet()
        for length in [1, 20, 63, 64, 128, 200, 255] { set.insert(length) }
        for length in 0...255 {
            XCTAssertEqual(set.contains(length), [1, 20, 63, 64, 128, 200, 255].contains(length), "\(length)")
        }
    }

    /// A table filled to its capacity (three quarters of its slots) finds every name and no other, in twelve
    /// octets a slot: 10,000 names take 16,384 slots (with half kept empty and 16-octet slots they took 32,768 of
    /// 16 octets, a quarter of a big snapshot).
    func testATableFullToItsCapacityFindsEveryNameAndNoOther() {
        func name(_ index: Int, _ label: String) -> [UInt8] {
            let first = Array("\(label)-\(index)".utf8)
            return [UInt8(first.count)] + first + [2] + Array("ns".utf8) + [5] + Array("local".utf8) + [0]
        }
        var table = NameTable(capacity: 10_000)
        XCTAssertGreaterThanOrEqual(table.capacity, 10_000)
        XCTAssertLessThanOrEqual(table.bytes.slots, 16_384 * 12)
        for index in 0..<table.capacity { table.insert(name(index, "svc"), value: index) }
        for index in 0..<table.capacity {
            XCTAssertEqual(name(index, "svc").withUnsafeBytes { table.lookup($0) }, index)
            XCTAssertNil(name(index, "gone").withUnsafeBytes { table.lookup($0) })
        }
        XCTAssertEqual(table.key(atSlot: table.slotsByValue(count: 1)[0]).map(Array.init), name(0, "svc"))
    }
}
