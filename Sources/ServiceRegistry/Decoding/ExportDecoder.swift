/// Decodes and validates one export entry: the service's own fields and each cluster's.
///
/// Everything that can be judged from the entry alone is checked here; what needs other entries (type and vip
/// agreement, a cluster exported twice, a port name reused) is `ServiceMerger`'s job.
enum ExportDecoder {
    static let serviceKeys = ["name", "namespace", "type", "vip", "ports", "clusters"]
    static let portKeys = ["name", "port", "protocol"]

    /// One item of `services:`.
    static func entry(_ field: YAMLField) throws(RegistryError) -> ExportEntry {
        let mapping = try field.mapping(allowing: serviceKeys)
        var origin = ExportOrigin(entry: field, flat: false)
        var service = try serviceFields(mapping, origin: &origin)

        let clustersField = try mapping.required("clusters")
        let clusterFields = try clustersField.sequence()
        guard !clusterFields.isEmpty else {
            throw clustersField.error("an export names at least one cluster")
        }
        for (index, clusterField) in clusterFields.enumerated() {
            let clusterMapping = try clusterField.mapping(allowing: ClusterDecoder.clusterKeys)
            service.clusters.append(
                try ClusterDecoder.cluster(clusterMapping, type: service.type, index: index, origin: &origin))
        }
        return ExportEntry(service: service, origin: origin)
    }

    /// The flat form of one export (DESIGN.md section 2, etcd): the service's keys and one cluster's keys side by
    /// side in a single mapping.
    static func flatEntry(_ field: YAMLField) throws(RegistryError) -> ExportEntry {
        let keys = serviceKeys.filter { $0 != "clusters" } + ClusterDecoder.clusterKeys
        let mapping = try field.mapping(allowing: keys)
        var origin = ExportOrigin(entry: field, flat: true)
        var service = try serviceFields(mapping, origin: &origin)
        service.clusters = [try ClusterDecoder.cluster(mapping, type: service.type, index: 0, origin: &origin)]
        return ExportEntry(service: service, origin: origin)
    }

    private static func serviceFields(
        _ mapping: YAMLMapping,
        origin: inout ExportOrigin
    ) throws(RegistryError) -> Service {
        let name = try mapping.required("name").dnsLabel()
        let namespace = try mapping.required("namespace").dnsLabel()
        var type = ServiceType.clusterSetIP
        if let typeField = mapping["type"] {
            type = try typeField.oneOf(ServiceType.self)
            origin.recordType(typeField)
        }
        var vip: IPAddress? = nil
        if let vipField = mapping["vip"] {
            guard type == .clusterSetIP else {
                throw vipField.error("a Headless service has no vip; remove it or make the service ClusterSetIP")
            }
            vip = try vipField.ipAddress()
            origin.recordVIP(vipField)
        }
        let ports = try mapping.optional("ports", default: []) { (field) throws(RegistryError) in
            try self.ports(field, origin: &origin)
        }
        return Service(name: name, namespace: namespace, type: type, vip: vip, ports: ports)
    }

    private static func ports(_ field: YAMLField, origin: inout ExportOrigin) throws(RegistryError) -> [ServicePort] {
        var ports: [ServicePort] = []
        for (index, portField) in try field.sequence().enumerated() {
            let mapping = try portField.mapping(allowing: portKeys)
            var name: String? = nil
            if let nameField = mapping["name"] {
                let text = try nameField.string()
                if let problem = DNSLabel.portNameProblem(with: text) {
                    throw nameField.error(problem)
                }
                if let other = ports.firstIndex(where: { $0.name == text }) {
                    throw nameField.error("port name '\(text)' is already used by ports[\(other)]")
                }
                name = text
            }
            let portField = try mapping.required("port")
            let number: UInt16 = try portField.int(in: 1...65535)
            origin.recordPort(index, portField)
            let portProtocol = try mapping.optional("protocol", default: .tcp) { (field) throws(RegistryError) in
                try field.oneOf(PortProtocol.self)
            }
            let port = ServicePort(name: name, port: number, portProtocol: portProtocol)
            if let other = ports.firstIndex(of: port) {
                throw portField.error("\(number)/\(portProtocol.rawValue) is listed twice (also ports[\(other)])")
            }
            ports.append(port)
        }
        return ports
    }
}
