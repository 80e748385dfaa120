import DNSWire

/// The PTR names a snapshot compiled from the registry's addresses, by node: the next build copies such a node
/// when its records are the same, and an overlay reads its targets to find the services behind an address.
///
/// Only which nodes they are is kept. The records are in the node's PTR template already, octet for octet: a
/// copy of them (TTL and target of each) was 20 MiB at 100,000 services x 3 clusters, and as `ResourceRecord`
/// values 82 MiB before that.
struct ReverseFragments: Sendable {
    /// The nodes, as runs: the names compiled apart are one run, those copied from a previous snapshot another.
    private var runs: [Range<Int32>] = []

    init() {}

    var count: Int { runs.reduce(0) { $0 + $1.count } }

    /// Bytes of the runs.
    var byteCount: Int { runs.capacity * MemoryLayout<Range<Int32>>.stride }

    /// Marks `node` as a PTR name of the registry's, made of PTR records alone.
    mutating func add(node: Int32) {
        if let last = runs.last, last.upperBound == node {
            runs[runs.count - 1] = last.lowerBound..<(node + 1)
        } else {
            runs.append(node..<(node + 1))
        }
    }

    func contains(_ node: Int32) -> Bool {
        runs.contains { $0.contains(node) }
    }
}

extension AnswerSnapshot {
    /// The template of PTR name `node`'s answer, when the registry made the name (`ReverseFragments`).
    private func registryPTRTemplate(ofNode node: Int32) -> Int32? {
        guard reverseFragments.contains(node), node >= 0, Int(node) < nodes.count else { return nil }
        let entry = Int(nodes[Int(node)].firstType)
        guard nodes[Int(node)].typeCount == 1, types.codes[entry] == RecordType.ptr.rawValue, types.variants[entry] < 0
        else { return nil }
        return types.templates[entry]
    }

    /// Whether PTR name `node` (`name`) was compiled from `records`: whether they make the same answer, octet for
    /// octet (same TTLs and targets in order; a target's letter case counts where it is written out, not inside a
    /// compressed suffix, whose bytes are the same). False for a name the registry did not make.
    func registryPTRNode(_ node: Int32, named name: DNSName, isMadeOf records: [ResourceRecord]) -> Bool {
        guard let template = registryPTRTemplate(ofNode: node) else { return false }
        return templates.template(
            template, equals: AnswerCompiler.template(of: name, type: .ptr, answers: records, additional: []))
    }

    /// The targets of PTR name `node`'s records, in order, read back from its answer; nil for a name the registry
    /// did not make.
    func registryPTRTargets(ofNode node: Int32) -> [DNSName]? {
        guard let template = registryPTRTemplate(ofNode: node), let name = self.name(ofNode: Int(node)) else {
            return nil
        }
        // The template is the response without its question: put it back, and the message parses as sent.
        let response = templates.withTemplate(Int(template)) { bytes in
            Array(bytes[..<TemplateStore.headerLength]) + name + [0, UInt8(RecordType.ptr.rawValue), 0, 1]
                + bytes[TemplateStore.headerLength...]
        }
        guard let message = try? Message(parsing: response) else { return nil }
        return message.answers.compactMap { record in
            if case .ptr(let target) = record.data { target } else { nil }
        }
    }
}
