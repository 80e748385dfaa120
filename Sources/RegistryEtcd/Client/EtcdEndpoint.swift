/// One etcd client URL: `http://HOST:PORT`, or `https://HOST:PORT` (checked against `EtcdSecurity.caFile`, or
/// the system's roots). A URL with credentials in it (`http://user:password@host:2379`) is refused without
/// being echoed: a password there shows in `ps`, in the config and in every log line that names the endpoint.
public struct EtcdEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// `http://HOST:PORT` or `https://HOST:PORT`, with no trailing slash, as requests are built from it.
    public let base: String
    /// `HOST:PORT`, as an HTTP/2 request names it (`:authority`).
    let authority: String
    /// The host to connect to (an IPv6 address without its brackets) and the port.
    let host: String
    let port: Int

    public init(_ text: String) throws(EtcdError) {
        // Before anything else, so that no later error echoes the text with the password in it.
        if text.contains("@") {
            throw .badSetting(
                "an etcd endpoint with credentials in its URL is refused (a password there shows in ps and logs): "
                    + "give the user and a password file instead (--etcd-user, --etcd-password-file; "
                    + "registry.etcd.auth)")
        }
        var trimmed = text
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        let scheme = ["http://", "https://"].first { trimmed.hasPrefix($0) }
        guard let scheme else { throw .badEndpoint(text) }
        let authority = trimmed.dropFirst(scheme.count)
        guard let colon = authority.lastIndex(of: ":"), colon != authority.startIndex,
            let port = UInt16(authority[authority.index(after: colon)...]), port != 0,
            !authority.contains("/")
        else {
            throw .badEndpoint(text)
        }
        base = trimmed
        self.authority = String(authority)
        var host = authority[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        self.host = String(host)
        self.port = Int(port)
    }

    public var isTLS: Bool { base.hasPrefix("https://") }

    public var description: String { base }
}
