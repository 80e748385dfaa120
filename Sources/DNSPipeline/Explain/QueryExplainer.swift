import DNSWire
import ServiceRegistry

extension QueryProcessor {
    /// Explains how `name`/`type` is answered to a client at `client` (with `ecs`, an EDNS Client Subnet, when
    /// given): the query is answered by the serving snapshot exactly as one from the network would be (over UDP,
    /// EDNS payload 1232, as dig asks; nothing is counted, no cache is read, nothing is forwarded), and the
    /// ordering policy is replayed on `registry` (the registry that snapshot was built from, with the exports
    /// this instance cannot reach already unhealthy) to say why each candidate address landed where it did.
    /// `unreachableSince` names, for each probe target this instance cannot reach, since when (reachability
    /// probes, DESIGN.md section 3): an export left out for it says so.
    public func explain(
        name: DNSName, type: RecordType, client: IPAddress, ecs: IPNetwork?, registry: RegistrySnapshot,
        unreachableSince: [ProbeTarget: String] = [:]
    ) -> QueryExplanation {
        let snapshot = self.snapshot
        var options: [EDNSOption] = []
        if let ecs {
            let octets = Array(ecs.address.bytes.prefix((ecs.prefixLength + 7) / 8))
            let family: [UInt8] = ecs.address.isIPv4 ? [0, 1] : [0, 2]
            options.append(
                EDNSOption(code: EDNSOption.clientSubnetCode, data: family + [UInt8(ecs.prefixLength), 0] + octets))
        }
        let query = Message(
            header: Header(id: UInt16.random(in: .min ... .max), recursionDesired: true),
            questions: [Question(name: name, type: type)], edns: EDNS(udpPayloadSize: 1232, options: options)
        ).serialized()
        let context = ClientContext(address: ClientAddress(client), transport: .udp)
        var response: [UInt8] = []
        var facts = QueryFacts()
        let outcome = query.withUnsafeBytes {
            snapshot.respond(to: $0, client: context, into: &response, entropy: entropy, facts: &facts)
        }
        let subnet = query.withUnsafeBytes { bytes -> ClientSubnet? in
            guard let view = try? QueryView.scan(bytes), let edns = view.edns else { return nil }
            return (try? ReplyOptions(query: bytes, options: edns.optionsStart..<edns.optionsEnd))?.subnet
        }
        let (localityIndex, scope) = snapshot.clientLocality(client: context, subnet: subnet)
        let locality = snapshot.localities.localities[localityIndex]
        var explanation = QueryExplanation(
            query: QueryExplanation.Query(
                name: name.description, type: type.description, client: client.description,
                ecs: ecs?.description),
            locality: Self.explainLocality(
                snapshot: snapshot, client: context, clientText: client.description, subnet: subnet,
                ecsText: ecs?.description, locality: locality, scope: scope),
            outcome: "answered", forwardZone: nil, answer: nil, service: nil, failOpen: nil,
            maxAnswers: snapshot.settings.maxAnswers, tiers: [], candidates: [], notes: [])
        switch outcome {
        case .drop:
            explanation.outcome = "dropped"
            return explanation
        case .forward(let plan):
            explanation.outcome = "forwarded"
            explanation.forwardZone = snapshot.settings.forwardZones[plan.rule].description
            explanation.notes.append(
                "outside every zone of this server and under the forward: rule for \(explanation.forwardZone!): "
                    + "its upstreams answer (an explanation sends nothing upstream)")
            return explanation
        case .respond:
            break
        }
        guard let message = try? Message(parsing: response) else { return explanation }
        explanation.answer = QueryExplanation.Answer(
            rcode: message.rcode.description, authoritative: message.header.authoritative,
            truncated: message.header.truncated, records: message.answers.map(\.description))
        if !snapshot.allow.contains(context.address) {
            explanation.notes.append("the client's address is in no allow: network: REFUSED")
            return explanation
        }
        guard let found = ServiceNameForm(name.lowercased(), settings: snapshot.settings),
            let service = registry.service(namespace: found.namespace, name: found.service)
        else {
            explanation.notes.append(Self.nonServiceNote(message.rcode))
            return explanation
        }
        let explainer = CandidateExplainer(
            service: service, form: found, type: type, locality: locality, answers: message.answers,
            settings: snapshot.settings, unreachableSince: unreachableSince)
        explainer.explain(into: &explanation)
        // The answered in answer order, then the rest in the order the policy considered them.
        explanation.candidates = explanation.candidates.enumerated().sorted {
            ($0.element.position ?? Int.max, $0.offset) < ($1.element.position ?? Int.max, $1.offset)
        }.map(\.element)
        return explanation
    }

    private static func nonServiceNote(_ rcode: RCode) -> String {
        switch rcode {
        case .nxDomain: return "no such name in this server's zones or registry"
        case .refused: return "outside every zone of this server and every forward: rule"
        default: return "answered from zone data: a zone file, dns-version, or the PTR of a registry address"
        }
    }

    /// Which locality the client was given and why, by the same resolver the query path uses.
    private static func explainLocality(
        snapshot: AnswerSnapshot, client: ClientContext, clientText: String, subnet: ClientSubnet?, ecsText: String?,
        locality: Locality, scope: UInt8
    ) -> QueryExplanation.ClientLocality {
        let resolver = snapshot.localities
        let clients = snapshot.settings.clients
        var result = QueryExplanation.ClientLocality(
            cluster: locality.cluster, region: locality.region, zone: locality.zone, source: "instance", network: nil,
            scope: subnet == nil ? nil : Int(scope), reason: "")
        if resolver.isEmpty {
            result.reason = "no clients: networks are configured: this instance's own locality"
            return result
        }
        if let subnet, subnet.sourcePrefixLength > 0, let match = resolver.matchingClient(subnet) {
            result.source = "ecs"
            result.network = clients[match].network.description
            result.reason = "ECS \(ecsText ?? "") lies in clients: network \(clients[match].network)"
            return result
        }
        var reason = ""
        if let subnet {
            reason =
                subnet.sourcePrefixLength == 0
                ? "ECS source prefix 0 (the client opts out, RFC 7871 7.1.2); "
                : "ECS \(ecsText ?? "") lies in no clients: network; "
        }
        if let match = resolver.matchingClient(client.address) {
            result.source = "address"
            result.network = clients[match].network.description
            reason += "the source address \(clientText) lies in clients: network \(clients[match].network)"
        } else {
            reason += "the source address \(clientText) lies in no clients: network: this instance's own locality"
        }
        result.reason = reason
        return result
    }
}

/// A name under a naming tree of the registry (DESIGN.md section 1), taken apart.
struct ServiceNameForm {
    enum Form: String {
        case service
        case cluster
        case endpoint
        case srv
    }

    var form: Form
    var service: String
    var namespace: String
    var zone: DNSName
    /// The naming tree's root: `svc.ZONE`, or the global zone itself.
    var base: DNSName
    /// `cluster`: the cluster; `endpoint`: the cluster and the host; `srv`: the port's name and protocol labels.
    var first: String = ""
    var second: String = ""

    init?(_ name: DNSName, settings: PipelineSettings) {
        var trees: [(base: DNSName, zone: DNSName)] = settings.serviceZones.compactMap { zone in
            (try? zone.prepending("svc")).map { ($0, zone) }
        }
        if let global = settings.globalZone { trees.append((global, global)) }
        guard let tree = trees.first(where: { name.isSubdomain(of: $0.base) && name.labelCount > $0.base.labelCount })
        else { return nil }
        let labels = name.labels.prefix(name.labelCount - tree.base.labelCount).map {
            String(decoding: $0, as: UTF8.self)
        }
        guard labels.count >= 2 && labels.count <= 4 else { return nil }
        service = labels[labels.count - 2]
        namespace = labels[labels.count - 1]
        zone = tree.zone
        base = tree.base
        switch labels.count {
        case 2:
            form = .service
        case 3:
            form = .cluster
            first = labels[0]
        default:
            form = labels[0].hasPrefix("_") && labels[1].hasPrefix("_") ? .srv : .endpoint
            first = labels[form == .srv ? 0 : 1]
            second = labels[form == .srv ? 1 : 0]
        }
    }
}

/// Replays the ordering policy for one service name and explains every candidate against the real answer.
struct CandidateExplainer {
    let service: Service
    let form: ServiceNameForm
    let type: RecordType
    let locality: Locality
    let answers: [ResourceRecord]
    let settings: PipelineSettings
    let unreachableSince: [ProbeTarget: String]

    private static let tierNames = ["same cluster", "same zone", "same region", "elsewhere"]

    func explain(into explanation: inout QueryExplanation) {
        explanation.service = QueryExplanation.ServiceName(
            namespace: service.namespace, name: service.name, type: service.type.rawValue,
            vip: service.vip?.description, form: form.form.rawValue, zone: form.zone.description)
        switch form.form {
        case .service:
            guard type == .a || type == .aaaa else {
                explanation.notes.append("only A and AAAA of a service name are ordered by locality")
                return
            }
            explainService(into: &explanation)
        case .cluster, .endpoint:
            guard type == .a || type == .aaaa else {
                explanation.notes.append("only A and AAAA of this name hold addresses")
                return
            }
            if form.form == .cluster { explainCluster(into: &explanation) } else { explainEndpoint(into: &explanation) }
        case .srv:
            guard type == .srv else {
                explanation.notes.append("only SRV of a _PORT._PROTO name has records")
                return
            }
            explainSRV(into: &explanation)
        }
    }

    /// SVC.NS A/AAAA: the vip, or the healthy exports by tier with the weighted rotation inside each.
    private func explainService(into explanation: inout QueryExplanation) {
        let ipv4 = type == .a
        if let vip = service.vip {
            explanation.notes.append(
                "the service has a vip: SVC.NS answers \(vip) alone, whatever its exports' health")
            for export in service.clusters {
                for address in export.addresses where address.isIPv4 == ipv4 {
                    explanation.candidates.append(
                        candidate(address, export, tier: nil, reason: "not answered: the vip \(vip) is"))
                }
            }
            return
        }
        let exports = RegistryRecords.candidates(service, ipv4: ipv4)
        let failOpen = ClusterOrdering.failsOpen(exports)
        explanation.failOpen = failOpen
        if failOpen {
            explanation.notes.append("fail open: no export with an address of this family is healthy, so all are")
        }
        let answered = answers.filter { $0.data.type == type }
        var seen: [IPAddress: String] = [:]
        for (tier, tierExports) in ClusterOrdering.tiers(exports, from: locality) {
            explanation.tiers.append(
                QueryExplanation.Tier(tier: tier, name: Self.tierNames[tier], clusters: tierExports.map(\.cluster)))
            // As the compiler builds rotation units: an export whose addresses were all answered already adds none.
            var unitSeen = Set(seen.keys)
            let units = tierExports.filter { export in
                addresses(of: export, ipv4: ipv4).reduce(false) { $0 || unitSeen.insert($1.0).inserted }
            }
            let rotating = units.count > 1
            let total = units.reduce(UInt32(0)) { $0 + max(1, $1.weight) }
            for export in tierExports {
                for (address, endpoint) in addresses(of: export, ipv4: ipv4) {
                    if let owner = seen[address] {
                        var entry = candidate(
                            address, export, tier: tier,
                            reason: "the same address is answered once, for \(owner) in a nearer or earlier place")
                        entry.endpoint = endpoint
                        explanation.candidates.append(entry)
                        continue
                    }
                    seen[address] = export.cluster
                    var reason = "tier \(tier) (\(Self.tierNames[tier]))"
                    reason +=
                        rotating
                        ? ", weight \(export.weight) of \(total) in its tier: it leads the tier in "
                            + "\(export.weight)/\(total) of answers" : ", the only export in its tier"
                    if failOpen { reason = "fail open (no export healthy); " + reason }
                    var entry = placed(address, export, tier: tier, in: answered, reason: reason, rotating: rotating)
                    entry.endpoint = endpoint
                    explanation.candidates.append(entry)
                }
            }
        }
        appendUnhealthy(exports, ipv4: ipv4, into: &explanation)
        appendNotReady(into: &explanation)
    }

    /// The addresses an export gives the service's own name (`RegistryRecords.serviceAddresses`, in its order),
    /// each with its headless endpoint's hostname; of one family, or both when `ipv4` is nil.
    private func addresses(of export: ClusterExport, ipv4: Bool?) -> [(IPAddress, String?)] {
        let all: [(IPAddress, String?)] =
            service.type == .headless
            ? export.endpoints.filter(\.ready).flatMap { endpoint in endpoint.addresses.map { ($0, endpoint.hostname) }
            }
            : export.addresses.map { ($0, nil) }
        guard let ipv4 else { return all }
        return all.filter { $0.0.isIPv4 == ipv4 }
    }

    /// Since when this instance's probes cannot reach any address of `export`, if that is why it is unhealthy.
    private func unreachable(_ export: ClusterExport) -> String? {
        guard
            case .unreachable(let since) = ReachabilityPlan.reachability(
                of: export, in: service, down: unreachableSince)
        else { return nil }
        return since
    }

    /// The exports left out because another is healthy (none when all fail open): each address, not answered.
    private func appendUnhealthy(_ exports: [ClusterExport], ipv4: Bool?, into explanation: inout QueryExplanation) {
        let answerable = ClusterOrdering.answerable(exports)
        for export in exports where !answerable.contains(export) {
            let why = unreachable(export).map { "unreachable from here since \($0)" } ?? "unhealthy (healthy: false)"
            for (address, endpoint) in addresses(of: export, ipv4: ipv4) {
                var entry = candidate(
                    address, export, tier: ClusterOrdering.tier(of: export.locality, from: locality),
                    reason: "not answered: \(why) while another export is healthy")
                entry.endpoint = endpoint
                explanation.candidates.append(entry)
            }
        }
    }

    /// CLUSTER.SVC.NS: the asker chose the cluster, so its addresses come whatever their health.
    private func explainCluster(into explanation: inout QueryExplanation) {
        guard let export = service.clusters.first(where: { $0.cluster == form.first }) else {
            explanation.notes.append("no export of this service from cluster \(form.first)")
            return
        }
        if service.type == .clusterSetIP && !settings.clusterNames {
            explanation.notes.append("clusterNames: false: CLUSTER.SVC.NS names are not answered (strict MCS)")
            return
        }
        let answered = answers.filter { $0.data.type == type }
        let tier = ClusterOrdering.tier(of: export.locality, from: locality)
        let addresses =
            service.type == .headless ? export.endpoints.filter(\.ready).flatMap(\.addresses) : export.addresses
        for address in addresses where (type == .a) == address.isIPv4 {
            explanation.candidates.append(
                placed(
                    address, export, tier: tier, in: answered,
                    reason: "CLUSTER.SVC.NS names one cluster: its addresses are answered whatever its health",
                    rotating: false))
        }
        appendNotReady(into: &explanation, only: export.cluster)
    }

    /// HOST.CLUSTER.SVC.NS: one headless endpoint.
    private func explainEndpoint(into explanation: inout QueryExplanation) {
        guard let export = service.clusters.first(where: { $0.cluster == form.first }),
            let endpoint = export.endpoints.first(where: { $0.hostname == form.second })
        else {
            explanation.notes.append("no endpoint \(form.second) in cluster \(form.first)")
            return
        }
        let answered = answers.filter { $0.data.type == type }
        let tier = ClusterOrdering.tier(of: export.locality, from: locality)
        for address in endpoint.addresses where (type == .a) == address.isIPv4 {
            var entry = placed(
                address, export, tier: tier, in: answered,
                reason: endpoint.ready ? "the endpoint's own address" : "not answered: the endpoint is not ready",
                rotating: false)
            entry.endpoint = endpoint.hostname
            explanation.candidates.append(entry)
        }
    }

    /// _PORT._PROTO.SVC.NS: one SRV to the service name, or one per ready endpoint with its tier as priority.
    private func explainSRV(into explanation: inout QueryExplanation) {
        guard
            service.ports.contains(where: {
                $0.name.map { "_" + $0.lowercased() } == form.first
                    && "_" + $0.portProtocol.rawValue.lowercased() == form.second
            })
        else {
            explanation.notes.append("the service has no port named \(form.first) over \(form.second)")
            return
        }
        guard service.type == .headless else {
            explanation.notes.append(
                "one SRV record targets SVC.NS: explain that name's A or AAAA for the order of its addresses")
            return
        }
        let srv = answers.compactMap { record -> DNSName? in
            if case .srv(let value) = record.data { return value.target.lowercased() }
            return nil
        }
        let exports = service.clusters.filter { $0.endpoints.contains(where: \.ready) }
        for (tier, tierExports) in ClusterOrdering.tiers(exports, from: locality) {
            explanation.tiers.append(
                QueryExplanation.Tier(tier: tier, name: Self.tierNames[tier], clusters: tierExports.map(\.cluster)))
            for export in tierExports {
                for endpoint in export.endpoints where endpoint.ready {
                    let target = try? form.base.prepending(service.namespace).prepending(service.name)
                        .prepending(export.cluster).prepending(endpoint.hostname).lowercased()
                    let position = target.flatMap { srv.firstIndex(of: $0) }
                    for address in endpoint.addresses {
                        var entry = candidate(
                            address, export, tier: tier,
                            reason: "SRV priority \(tier) (\(Self.tierNames[tier])) and weight \(export.weight), "
                                + "targeting the endpoint")
                        entry.endpoint = endpoint.hostname
                        entry.answered = position != nil
                        entry.position = position.map { $0 + 1 }
                        explanation.candidates.append(entry)
                    }
                }
            }
        }
        appendUnhealthy(exports, ipv4: nil, into: &explanation)
        appendNotReady(into: &explanation)
    }

    /// Not-ready endpoints of a headless service: kept in the registry, never answered.
    private func appendNotReady(into explanation: inout QueryExplanation, only cluster: String? = nil) {
        guard service.type == .headless else { return }
        for export in service.clusters where cluster == nil || export.cluster == cluster {
            for endpoint in export.endpoints where !endpoint.ready {
                for address in endpoint.addresses {
                    var entry = candidate(
                        address, export, tier: nil, reason: "not answered: the endpoint is not ready (ready: false)")
                    entry.endpoint = endpoint.hostname
                    explanation.candidates.append(entry)
                }
            }
        }
    }

    /// A candidate with its place in the real answer, and why it is not there when it is not.
    private func placed(
        _ address: IPAddress, _ export: ClusterExport, tier: Int?, in answered: [ResourceRecord], reason: String,
        rotating: Bool
    ) -> QueryExplanation.Candidate {
        let data = RegistryRecords.rdata(address)
        let index = answered.firstIndex { $0.data == data }
        var entry = candidate(address, export, tier: tier, reason: reason)
        entry.answered = index != nil
        entry.position = index.map { $0 + 1 }
        if index == nil && !reason.hasPrefix("not answered") {
            if settings.maxAnswers > 0 && answered.count >= settings.maxAnswers {
                entry.reason =
                    "not answered: cut by maxAnswers \(settings.maxAnswers) after ordering; " + reason
                    + (rotating ? " (the rotation inside its tier decides, per query)" : "")
            } else {
                entry.reason = "not answered (the answer was truncated to the client's size); " + reason
            }
        }
        return entry
    }

    private func candidate(
        _ address: IPAddress, _ export: ClusterExport, tier: Int?, reason: String
    )
        -> QueryExplanation.Candidate
    {
        QueryExplanation.Candidate(
            address: address.description, cluster: export.cluster, region: export.locality.region,
            zone: export.locality.zone, endpoint: nil, tier: tier, weight: export.weight, healthy: export.healthy,
            answered: false, position: nil, reason: reason)
    }
}
