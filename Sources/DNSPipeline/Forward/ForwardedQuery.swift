import DNSWire

/// A client's query on its way to an upstream: what the pipeline needs to ask the upstream and, later, to turn
/// whatever came back into the client's response. Read with the same scan that answers queries, so a query the
/// pipeline forwarded is one this accepts (no second, stricter parse that could silently drop it).
public struct ForwardedQuery: Sendable {
    /// The client's query as received.
    public let bytes: [UInt8]
    /// The question exactly as asked (0x20 letter case kept, for the reply).
    public let question: Question
    public let id: UInt16
    public let recursionDesired: Bool
    public let checkingDisabled: Bool
    /// The query's EDNS, when it had an OPT record: its DO bit and whether it asked for NSID.
    public let edns: (dnssecOK: Bool, wantsNSID: Bool)?
    /// The client's ECS option, echoed with scope 0 as a cache hit echoes it (RFC 7871 7.2.1: the answer did not
    /// depend on the subnet, which is never passed on).
    let subnetEcho: EDNSOption?
    /// The largest response the client takes: 65,535 over TCP, else its EDNS size within ours, else 512.
    public let limit: Int

    /// Reads a query the pipeline answered `.forward`; nil for anything else (no question, a malformed one).
    public init?(_ bytes: [UInt8], overTCP: Bool, udpPayloadLimit: Int) {
        let read = bytes.withUnsafeBytes { raw -> (QueryView, Question, EDNSOption?, Bool)? in
            guard let view = try? QueryView.scan(raw), view.questionCount == 1,
                let name = try? DNSName(wire: Array(raw[view.nameStart..<view.nameEnd]))
            else { return nil }
            var subnet: EDNSOption? = nil
            var nsid = false
            if let edns = view.edns {
                guard let options = try? ReplyOptions(query: raw, options: edns.optionsStart..<edns.optionsEnd) else {
                    return nil
                }
                nsid = options.nsid
                if let found = options.subnet {
                    let address = Array(raw[found.addressStart..<(found.addressStart + found.addressLength)])
                    subnet = EDNSOption(
                        code: EDNSOption.clientSubnetCode,
                        data: [0, found.isIPv4 ? 1 : 2, UInt8(found.sourcePrefixLength), 0] + address)
                }
            }
            return (view, Question(name: name, type: view.type, qclass: view.qclass), subnet, nsid)
        }
        guard let (view, question, subnet, nsid) = read else { return nil }
        self.bytes = bytes
        self.question = question
        id = view.id
        recursionDesired = view.recursionDesired
        checkingDisabled = view.checkingDisabled
        edns = view.edns.map { ($0.dnssecOK, nsid) }
        subnetEcho = subnet
        limit =
            overTCP ? 65535 : view.edns.map { max(512, min(Int($0.udpPayloadSize), udpPayloadLimit)) } ?? 512
    }

    /// Our own query for the upstream (DESIGN.md section 4): a fresh random ID, RD and CD as the client set them,
    /// our OPT with payload 1232 and DO as asked; no ECS, no NSID, nothing else of the client's.
    public func upstreamQuery(id: UInt16) -> Message {
        Message(
            header: Header(id: id, recursionDesired: recursionDesired, checkingDisabled: checkingDisabled),
            questions: [question], edns: EDNS(udpPayloadSize: 1232, dnssecOK: edns?.dnssecOK ?? false))
    }
}
