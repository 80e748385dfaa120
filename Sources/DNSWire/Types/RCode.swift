/// A response code. Values above 15 need the OPT record's extended RCODE bits (RFC 6891 6.1.3),
/// so the full 12-bit value is kept here and split only on the wire.
public struct RCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue & 0x0FFF }
    @inlinable public init(_ rawValue: UInt16) { self.init(rawValue: rawValue) }

    @inlinable public static var noError: RCode { RCode(0) }
    @inlinable public static var formErr: RCode { RCode(1) }
    @inlinable public static var servFail: RCode { RCode(2) }
    @inlinable public static var nxDomain: RCode { RCode(3) }
    @inlinable public static var notImp: RCode { RCode(4) }
    @inlinable public static var refused: RCode { RCode(5) }
    @inlinable public static var notAuth: RCode { RCode(9) }
    @inlinable public static var badVers: RCode { RCode(16) }

    /// The four bits that live in the header.
    public var headerBits: UInt8 { UInt8(rawValue & 0x0F) }
    /// The eight bits that live in the OPT record's TTL field.
    public var extendedBits: UInt8 { UInt8(rawValue >> 4) }

    public var description: String {
        switch rawValue {
        case 0: return "NOERROR"
        case 1: return "FORMERR"
        case 2: return "SERVFAIL"
        case 3: return "NXDOMAIN"
        case 4: return "NOTIMP"
        case 5: return "REFUSED"
        case 6: return "YXDOMAIN"
        case 7: return "YXRRSET"
        case 8: return "NXRRSET"
        case 9: return "NOTAUTH"
        case 10: return "NOTZONE"
        case 16: return "BADVERS"
        default: return "RCODE\(rawValue)"
        }
    }
}

/// The header OPCODE (RFC 1035 4.1.1). Only QUERY is implemented; the rest get NOTIMP.
public struct Opcode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue & 0x0F }
    @inlinable public init(_ rawValue: UInt8) { self.init(rawValue: rawValue) }

    @inlinable public static var query: Opcode { Opcode(0) }
    @inlinable public static var iquery: Opcode { Opcode(1) }
    @inlinable public static var status: Opcode { Opcode(2) }
    @inlinable public static var notify: Opcode { Opcode(4) }
    @inlinable public static var update: Opcode { Opcode(5) }

    public var description: String {
        switch rawValue {
        case 0: return "QUERY"
        case 2: return "STATUS"
        case 4: return "NOTIFY"
        case 5: return "UPDATE"
        default: return "OPCODE\(rawValue)"
        }
    }
}
