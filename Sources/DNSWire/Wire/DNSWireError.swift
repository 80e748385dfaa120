/// Why a message could not be parsed. Parsing untrusted bytes never traps: every failure is one of these,
/// and the pipeline maps all of them to FORMERR (or a silent drop when not even a header could be read).
public enum DNSWireError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The message ended before a field that it announced (`offset` is where the field began).
    case truncated(offset: Int)
    /// A label was longer than 63 octets.
    case labelTooLong(offset: Int)
    /// A name was longer than 255 octets in wire form.
    case nameTooLong(offset: Int)
    /// A compression pointer pointed at itself, forward, or into a loop.
    case badPointer(offset: Int)
    /// The label type bits 01 or 10 (extended label types, never standardised for use).
    case badLabelType(offset: Int)
    /// A record's RDATA did not match its RDLENGTH or its type's layout.
    case badRData(type: UInt16, offset: Int)
    /// More than one OPT record, an OPT outside the additional section, or an OPT whose owner is not the root.
    case badOPT(offset: Int)
    /// A TSIG record that is not the last record of the additional section (RFC 8945 5.1), or whose RDATA
    /// does not have TSIG's layout.
    case badTSIG(offset: Int)
    /// An EDNS option overran its OPT record.
    case badEDNSOption(offset: Int)
    /// Bytes follow the last record the header announced.
    case trailingBytes(offset: Int)
    /// A presentation-format name could not be parsed.
    case badNameText(String)

    public var description: String {
        switch self {
        case .truncated(let offset): return "message truncated at offset \(offset)"
        case .labelTooLong(let offset): return "label longer than 63 octets at offset \(offset)"
        case .nameTooLong(let offset): return "name longer than 255 octets at offset \(offset)"
        case .badPointer(let offset): return "invalid compression pointer at offset \(offset)"
        case .badLabelType(let offset): return "unsupported label type at offset \(offset)"
        case .badRData(let type, let offset): return "malformed RDATA of type \(RecordType(type)) at offset \(offset)"
        case .badOPT(let offset): return "misplaced or duplicate OPT record at offset \(offset)"
        case .badTSIG(let offset): return "misplaced or malformed TSIG record at offset \(offset)"
        case .badEDNSOption(let offset): return "EDNS option overruns its OPT record at offset \(offset)"
        case .trailingBytes(let offset): return "unexpected bytes after the last record at offset \(offset)"
        case .badNameText(let text): return "invalid domain name '\(text)'"
        }
    }
}
