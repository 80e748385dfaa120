/// One EDNS option (RFC 6891 6.1.2), kept as code and octets so unknown options survive a round trip.
public struct EDNSOption: Hashable, Sendable {
    public var code: UInt16
    public var data: [UInt8]

    public init(code: UInt16, data: [UInt8]) {
        self.code = code
        self.data = data
    }

    public static let clientSubnetCode: UInt16 = 8
    public static let cookieCode: UInt16 = 10
    public static let nsidCode: UInt16 = 3
}

/// The OPT pseudo-record's contents (RFC 6891). The extended RCODE bits are not kept here: they are part
/// of `Message.rcode`.
public struct EDNS: Hashable, Sendable {
    public var udpPayloadSize: UInt16
    public var version: UInt8
    public var dnssecOK: Bool
    /// The Z flags other than DO, kept as received.
    public var otherFlags: UInt16
    public var options: [EDNSOption]

    public init(
        udpPayloadSize: UInt16 = 1232, version: UInt8 = 0, dnssecOK: Bool = false, otherFlags: UInt16 = 0,
        options: [EDNSOption] = []
    ) {
        self.udpPayloadSize = udpPayloadSize
        self.version = version
        self.dnssecOK = dnssecOK
        self.otherFlags = otherFlags
        self.options = options
    }

    /// The wire size of the OPT record carrying this: root owner, type, class, TTL, RDLENGTH, options.
    public var wireSize: Int { 11 + options.reduce(0) { $0 + 4 + $1.data.count } }

    func write(to buffer: inout [UInt8], extendedRCode: UInt8) {
        buffer.append(0)
        buffer.appendUInt16(RecordType.opt.rawValue)
        buffer.appendUInt16(udpPayloadSize)
        buffer.append(extendedRCode)
        buffer.append(version)
        buffer.appendUInt16((dnssecOK ? 0x8000 : 0) | (otherFlags & 0x7FFF))
        buffer.appendUInt16(UInt16(wireSize - 11))
        for option in options {
            buffer.appendUInt16(option.code)
            buffer.appendUInt16(UInt16(option.data.count))
            buffer.append(contentsOf: option.data)
        }
    }
}

extension WireReader {
    /// Reads the options of an OPT record's RDATA; an option that overruns it is a FORMERR.
    mutating func readEDNSOptions(length: Int) throws(DNSWireError) -> [EDNSOption] {
        let end = offset + length
        guard length <= remaining else { throw .truncated(offset: offset) }
        var options: [EDNSOption] = []
        while offset < end {
            guard end - offset >= 4 else { throw .badEDNSOption(offset: offset) }
            let code = try readUInt16()
            let size = Int(try readUInt16())
            guard end - offset >= size else { throw .badEDNSOption(offset: offset - 4) }
            options.append(EDNSOption(code: code, data: try readBytes(size)))
        }
        return options
    }
}
