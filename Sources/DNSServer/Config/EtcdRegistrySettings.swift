import RegistryEtcd
import ServiceRegistry

/// `registry: { etcd: { endpoints: [http://127.0.0.1:2379], prefix: /scdns/v1/ } }` (DESIGN.md section 5).
public struct EtcdRegistrySettings: Sendable, Equatable {
    /// `endpoints`: etcd client URLs, `http://HOST:PORT` or `https://HOST:PORT`; the source fails over between
    /// them. A URL with credentials in it is refused (`auth` takes them).
    public var endpoints: [String]
    /// `prefix`: where the registry lives in etcd; exports are under `PREFIX clusters/CLUSTER/services/NS/NAME`.
    public var prefix: String
    /// `maxStale`: how long the last snapshot may be served while etcd is unreachable before `/ready` fails, so
    /// an instance cut off for long leaves its Service's endpoints (it keeps answering all the same).
    public var maxStale: Duration = .seconds(60)
    /// `tls: { ca, cert, key }`: PEM files, relative to the config file's directory; with https endpoints and no
    /// `ca`, the system's roots check etcd. `cert` and `key` go together (etcd's `--client-cert-auth`).
    /// `auth: { user, passwordFile }`: an etcd user, and a file whose first line is its password (never the
    /// password itself: a config is read by many). Read when the server starts; a file missing then stops it.
    public var security = EtcdSecurity()

    public init(endpoints: [String], prefix: String = RegistryKeyLayout.defaultPrefix) {
        self.endpoints = endpoints
        self.prefix = prefix
    }

    static func decode(_ field: YAMLField) throws(RegistryError) -> EtcdRegistrySettings {
        let mapping = try field.mapping(allowing: ConfigKeys.etcd)
        let endpointsField = try mapping.required("endpoints")
        var endpoints: [String] = []
        for item in try endpointsField.sequence() {
            let text = try item.string()
            do {
                _ = try EtcdEndpoint(text)
            } catch {
                throw item.error("\(error)")
            }
            endpoints.append(text)
        }
        guard !endpoints.isEmpty else { throw endpointsField.error("name at least one etcd endpoint") }
        var settings = EtcdRegistrySettings(endpoints: endpoints)
        if let prefixField = mapping["prefix"] {
            let prefix = try prefixField.string()
            guard prefix.hasPrefix("/") else { throw prefixField.error("a prefix starts with '/', like /scdns/v1/") }
            settings.prefix = prefix
        }
        if let field = mapping["maxStale"] {
            settings.maxStale = try ServerConfig.duration(field, ServerConfig.DurationRange.maxStale)
        }
        if let field = mapping["tls"] {
            let tls = try field.mapping(allowing: ConfigKeys.etcdTLS)
            settings.security.caFile = try tls["ca"]?.string()
            settings.security.certFile = try tls["cert"]?.string()
            settings.security.keyFile = try tls["key"]?.string()
            guard (settings.security.certFile == nil) == (settings.security.keyFile == nil) else {
                throw field.error("cert and key go together: give both, or neither")
            }
            if let plain = endpoints.first(where: { !$0.hasPrefix("https://") }) {
                throw field.error("TLS files are given but endpoint \(plain) is not https://")
            }
        }
        if let field = mapping["auth"] {
            let auth = try field.mapping(allowing: ConfigKeys.etcdAuth)
            let user = try auth.required("user").string()
            guard !user.isEmpty else { throw try auth.required("user").error("the etcd user is empty") }
            settings.security.user = user
            // A file, never the password: the config is read by many and often kept in git.
            settings.security.passwordFile = try auth.required("passwordFile").string()
        }
        return settings
    }
}

extension EtcdSecurity {
    /// Makes relative file names relative to `base` (the config file's directory, ending in "/").
    mutating func resolveFiles(against base: String) {
        func resolve(_ path: String?) -> String? {
            guard let path, !path.hasPrefix("/") else { return path }
            return base + path
        }
        caFile = resolve(caFile)
        certFile = resolve(certFile)
        keyFile = resolve(keyFile)
        passwordFile = resolve(passwordFile)
    }
}
