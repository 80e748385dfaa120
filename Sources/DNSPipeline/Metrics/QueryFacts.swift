/// What the answering policy learnt about one query that the server's counters need and the response bytes do
/// not say: which zone it fell in and its type. Written by `QueryProcessor.process` as it answers, so the socket
/// layer counts a query without parsing it again (`scdns_dns_requests_total{proto,type,zone}`).
public struct QueryFacts: Sendable {
    /// The question's QTYPE, or 0 when the question could not be read.
    public var type: UInt16 = 0
    /// The query's zone in `ZoneLabels` (0, the root, for a query outside every zone or unparsed).
    public var zoneSlot: UInt8 = 0
    /// The response's extended RCODE bits above the header's four (BADVERS is 16: header 0, this 1).
    public var extendedRCode: UInt8 = 0

    public init() {}
}
