/// One etcd client URL. Only plain `http://HOST:PORT` is taken: scdns talks to etcd inside the cluster network
/// (TLS to etcd is not built yet, and an `https://` URL is refused rather than silently downgraded).
public struct EtcdEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// `http://HOST:PORT` with no trailing slash, as requests are built from it.
    public let base: String

    public init(_ text: String) throws(EtcdError) {
        var trimmed = text
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard trimmed.hasPrefix("http://") else { throw .badEndpoint(text) }
        let authority = trimmed.dropFirst("http://".count)
        guard let colon = authority.lastIndex(of: ":"), colon != authority.startIndex,
            let port = UInt16(authority[authority.index(after: colon)...]), port != 0,
            !authority.contains("/")
        else {
            throw .badEndpoint(text)
        }
        base = trimmed
    }

    public var description: String { base }
}
