/// Writes one cluster's export in the flat JSON form etcd stores (DESIGN.md section 2): the service's keys and
/// the cluster's keys side by side, in a fixed order, defaults left out. `RegistryDecoder.decodeExport` reads it
/// back to an equal service.
public enum ExportEncoder {
    /// The flat JSON of `service` as exported by `cluster`, one of its clusters.
    public static func flatJSON(_ service: Service, cluster: ClusterExport) -> String {
        var object = JSONObject()
        object.add("name", string: service.name)
        object.add("namespace", string: service.namespace)
        if service.type != .clusterSetIP { object.add("type", string: service.type.rawValue) }
        if let vip = service.vip { object.add("vip", string: vip.description) }
        if !service.ports.isEmpty {
            object.add("ports", raw: array(service.ports.map(port)))
        }
        object.add("cluster", string: cluster.cluster)
        if !cluster.locality.region.isEmpty { object.add("region", string: cluster.locality.region) }
        if !cluster.locality.zone.isEmpty { object.add("zone", string: cluster.locality.zone) }
        if !cluster.addresses.isEmpty {
            object.add("addresses", raw: array(cluster.addresses.map { quoted($0.description) }))
        }
        if cluster.weight != ClusterExport.defaultWeight { object.add("weight", raw: String(cluster.weight)) }
        if !cluster.healthy { object.add("healthy", raw: "false") }
        if !cluster.endpoints.isEmpty {
            object.add("endpoints", raw: array(cluster.endpoints.map(endpoint)))
        }
        return object.text
    }

    private static func port(_ port: ServicePort) -> String {
        var object = JSONObject()
        if let name = port.name { object.add("name", string: name) }
        object.add("port", raw: String(port.port))
        object.add("protocol", string: port.portProtocol.rawValue)
        return object.text
    }

    private static func endpoint(_ endpoint: Endpoint) -> String {
        var object = JSONObject()
        object.add("hostname", string: endpoint.hostname)
        object.add("addresses", raw: array(endpoint.addresses.map { quoted($0.description) }))
        if !endpoint.ready { object.add("ready", raw: "false") }
        return object.text
    }

    private static func array(_ items: [String]) -> String {
        "[" + items.joined(separator: ",") + "]"
    }

    /// A JSON string literal (RFC 8259 section 7): quote, backslash and control characters escaped.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    private struct JSONObject {
        private var members: [String] = []

        mutating func add(_ key: String, string: String) { add(key, raw: ExportEncoder.quoted(string)) }
        mutating func add(_ key: String, raw: String) { members.append(ExportEncoder.quoted(key) + ":" + raw) }

        var text: String { "{" + members.joined(separator: ",") + "}" }
    }
}
