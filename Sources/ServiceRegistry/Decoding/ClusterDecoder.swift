/// Decodes and validates one cluster's part of an export, with its endpoints.
enum ClusterDecoder {
    static let clusterKeys = ["cluster", "region", "zone", "addresses", "weight", "healthy", "endpoints"]
    static let endpointKeys = ["hostname", "addresses", "ready"]

    /// `index` is the cluster's in `clusters:`, 0 when the cluster's keys sit beside the service's (the flat
    /// etcd form); the same `mapping` may then hold service keys too, already read by the caller.
    static func cluster(
        _ mapping: YAMLMapping,
        type: ServiceType,
        index: Int,
        origin: inout ExportOrigin
    ) throws(RegistryError) -> ClusterExport {
        let nameField = try mapping.required("cluster")
        let name = try nameField.dnsLabel()
        origin.recordCluster(index, nameField)

        let region = try mapping.optional("region", default: "") { (field) throws(RegistryError) in
            try field.topologyValue()
        }
        let zone = try mapping.optional("zone", default: "") { (field) throws(RegistryError) in
            try field.topologyValue()
        }
        if type == .headless, let addressesField = mapping["addresses"] {
            // They used to be accepted and dropped: nothing would answer them.
            throw addressesField.error(
                "a Headless export answers with its endpoints (hostname and addresses each); "
                    + "move these addresses under endpoints, or make the service ClusterSetIP")
        }
        let addresses = try mapping.optional("addresses", default: []) { (field) throws(RegistryError) in
            try self.addresses(field)
        }
        let weight = try mapping.optional("weight", default: ClusterExport.defaultWeight) {
            (field) throws(RegistryError) in
            try field.int(in: ClusterExport.weightRange)
        }
        let healthy = try mapping.optional("healthy", default: true) { (field) throws(RegistryError) in
            try field.bool()
        }
        var endpoints: [Endpoint] = []
        if let endpointsField = mapping["endpoints"] {
            guard type == .headless else {
                throw endpointsField.error(
                    "endpoints are only for Headless services; a ClusterSetIP export lists its addresses instead"
                )
            }
            endpoints = try self.endpoints(endpointsField)
        }
        return ClusterExport(
            locality: Locality(cluster: name, region: region, zone: zone),
            addresses: addresses,
            weight: weight,
            healthy: healthy,
            endpoints: endpoints
        )
    }

    /// A list of addresses, no address twice: a repeated address would skew the weighted rotation. Checked through
    /// a set, so a value with 100,000 addresses costs what reading them costs, not their square.
    static func addresses(_ field: YAMLField) throws(RegistryError) -> [IPAddress] {
        var addresses: [IPAddress] = []
        // A cluster lists an address or a few: compared one by one until there are enough to hash (a dictionary
        // for each cluster was a tenth of decoding it).
        var positions: [IPAddress: Int]? = nil
        for element in try field.sequence() {
            let address = try element.ipAddress()
            if let other = positions.map({ $0[address] }) ?? addresses.firstIndex(of: address) {
                throw element.error("\(address) is listed twice (also \(field.elementPath(other)))")
            }
            addresses.append(address)
            if positions != nil {
                positions![address] = addresses.count - 1
            } else if addresses.count > 16 {
                positions = Dictionary(uniqueKeysWithValues: zip(addresses, addresses.indices))
            }
        }
        return addresses
    }

    /// Endpoints keep the given order; a hostname is unique within the cluster because it becomes
    /// `HOST.CLUSTER.SVC.NS`. A list with no endpoint, or none ready, is a service scaled to zero: valid.
    private static func endpoints(_ field: YAMLField) throws(RegistryError) -> [Endpoint] {
        var endpoints: [Endpoint] = []
        var positions: [String: Int] = [:]
        for element in try field.sequence() {
            let mapping = try element.mapping(allowing: endpointKeys)
            let hostnameField = try mapping.required("hostname")
            let hostname = try hostnameField.dnsLabel()
            if let other = positions.updateValue(endpoints.count, forKey: hostname) {
                throw hostnameField.error(
                    "hostname '\(hostname)' is already used by \(field.elementPath(other)) in this cluster"
                )
            }
            let addressesField = try mapping.required("addresses")
            let addresses = try self.addresses(addressesField)
            guard !addresses.isEmpty else {
                throw addressesField.error("an endpoint has at least one address")
            }
            let ready = try mapping.optional("ready", default: true) { (field) throws(RegistryError) in try field.bool()
            }
            endpoints.append(Endpoint(hostname: hostname, addresses: addresses, ready: ready))
        }
        return endpoints
    }
}
