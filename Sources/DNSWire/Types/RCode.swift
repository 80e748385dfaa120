/// A response code. Values above 15 need the OPT record's extended RCODE bits (RFC 6891 6.1.3),
/// so the full 12-bit value is kept here and split only on the wire.
public struct RCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue & 0x0FFF }
    public init(_ rawValue: UInt16) { self.init(rawValue: rawValue) }

    public static let noError = RCode(0)
    public static let formErr = RCode(1)
    public static let servFail = RCode(2)
    public static let nxDomain = RCode(3)
    public static let notImp = RCode(4)
    public static let refused = RCode(5)
    public static let notAuth = RCode(9)
    public static let badVers = RCode(16)

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
    public init(rawValue: UInt8) { self.rawValue = rawValue & 0x0F }
    public init(_ rawValue: UInt8) { self.init(rawValue: rawValue) }

    public static let query = Opcode(0)
    public static let iquery = Opcode(1)
    public static let status = Opcode(2)
    public static let notify = Opcode(4)
    public static let update = Opcode(5)

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
