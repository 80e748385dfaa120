import XCTest

@testable import DNSWire

/// A name from presentation text that the test knows to be valid.
func dn(_ text: String) -> DNSName {
    try! DNSName(text)
}

/// The uncompressed wire form of a valid name.
func wire(_ text: String) -> [UInt8] {
    dn(text).wire
}

/// SplitMix64 (Steele, Lea and Flood): a small seeded generator, so every run mutates the same way.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

/// Writes hand-made (often malformed) messages octet by octet.
struct WireBuilder {
    var bytes: [UInt8] = []

    /// Starts with a header: ID 0xBEEF, the given flags and section counts.
    init(flags: UInt16 = 0, qd: UInt16 = 0, an: UInt16 = 0, ns: UInt16 = 0, ar: UInt16 = 0) {
        for value in [0xBEEF, flags, qd, an, ns, ar] { u16(value) }
    }

    var count: Int { bytes.count }

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    mutating func u32(_ value: UInt32) {
        u16(UInt16(value >> 16))
        u16(UInt16(truncatingIfNeeded: value))
    }

    mutating func raw(_ octets: [UInt8]) { bytes += octets }

    /// A question for `name` (type A, class IN unless told).
    mutating func question(_ name: String, type: UInt16 = 1, qclass: UInt16 = 1) {
        raw(wire(name))
        u16(type)
        u16(qclass)
    }

    /// A record with raw owner octets; RDLENGTH is the RDATA's length unless `rdlength` overrides it.
    /// Returns where the record and its RDATA begin.
    @discardableResult
    mutating func record(
        owner: [UInt8], type: UInt16, rrClass: UInt16 = 1, ttl: UInt32 = 300, rdlength: Int? = nil, rdata: [UInt8]
    ) -> (start: Int, rdata: Int) {
        let start = count
        raw(owner)
        u16(type)
        u16(rrClass)
        u32(ttl)
        u16(UInt16(rdlength ?? rdata.count))
        let rdataStart = count
        raw(rdata)
        return (start, rdataStart)
    }
}

/// Asserts that parsing fails with exactly `expected`.
func assertParseError(
    _ bytes: [UInt8], _ expected: DNSWireError, _ message: String = "", file: StaticString = #filePath,
    line: UInt = #line
) {
    do throws(DNSWireError) {
        let parsed = try Message(parsing: bytes)
        XCTFail("parsed \(parsed), expected \(expected) \(message)", file: file, line: line)
    } catch {
        XCTAssertEqual(error, expected, message, file: file, line: line)
    }
}

/// Parses bytes the test expects to be valid, failing the test (and returning nil) otherwise.
func parseOrFail(
    _ bytes: [UInt8], _ message: String = "", file: StaticString = #filePath, line: UInt = #line
)
    -> Message?
{
    do throws(DNSWireError) {
        return try Message(parsing: bytes)
    } catch {
        XCTFail("parse failed: \(error) \(message)", file: file, line: line)
        return nil
    }
}

/// Reads a big-endian 16-bit field of a serialized message.
func u16(_ bytes: [UInt8], at offset: Int) -> UInt16 {
    UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
}

/// One name in a serialized message: where it starts, what holds it, and whether it uses a pointer.
struct NameSite: Equatable {
    var offset: Int
    var context: String
    var compressed: Bool
}

/// Walks a well-formed serialized message and lists every name in it, including those inside the RDATA of
/// NS, CNAME, PTR, MX, SOA and SRV. OPT and unknown RDATA are skipped.
func nameSites(in bytes: [UInt8]) -> [NameSite] {
    var sites: [NameSite] = []
    var offset = 12
    func walkName(_ context: String) {
        let start = offset
        while true {
            let length = bytes[offset]
            if length & 0xC0 == 0xC0 {
                offset += 2
                sites.append(NameSite(offset: start, context: context, compressed: true))
                return
            }
            offset += 1 + Int(length)
            if length == 0 {
                sites.append(NameSite(offset: start, context: context, compressed: false))
                return
            }
        }
    }
    for _ in 0..<u16(bytes, at: 4) {
        walkName("question")
        offset += 4
    }
    let records = Int(u16(bytes, at: 6)) + Int(u16(bytes, at: 8)) + Int(u16(bytes, at: 10))
    for _ in 0..<records {
        walkName("owner")
        let type = RecordType(u16(bytes, at: offset))
        let end = offset + 10 + Int(u16(bytes, at: offset + 8))
        offset += 10
        switch type {
        case .ns, .cname, .ptr: walkName("\(type)")
        case .mx:
            offset += 2
            walkName("MX")
        case .soa:
            walkName("SOA primary")
            walkName("SOA mailbox")
        case .srv:
            offset += 6
            walkName("SRV")
        default: break
        }
        offset = end
    }
    return sites
}
