import RegistryEtcd
import ServiceRegistry

/// `registry: { etcd: { endpoints: [http://127.0.0.1:2379], prefix: /scdns/v1/ } }` (DESIGN.md section 5).
public struct EtcdRegistrySettings: Sendable, Equatable {
    /// `endpoints`: etcd client URLs, `http://HOST:PORT`; the source fails over between them.
    public var endpoints: [String]
    /// `prefix`: where the registry lives in etcd; exports are under `PREFIX clusters/CLUSTER/services/NS/NAME`.
    public var prefix: String
    /// `maxStale`: how long the last snapshot may be served while etcd is unreachable before `/ready` fails, so
    /// an instance cut off for long leaves its Service's endpoints (it keeps answering all the same).
    public var maxStale: Duration = .seconds(60)

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
        return settings
    }
}
